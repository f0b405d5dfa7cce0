#!/usr/bin/env python3
"""An external task-manager worker for `embedding_generation` tasks, in Python's standard library only.

It leases tasks over REST (POST /api/v1/workers/lease, long polling), embeds the payload's
`texts` with the same local hashing embedder the service has built in (so its vectors are
the ones the built-in processor would return), heartbeats while it works, and completes each
task with the documented result: {model, dimension, embedded, vectors, stored: null}.
A payload it cannot serve (stored chunks, `store: true`, another model) fails at once,
non-retryably. SIGTERM or Ctrl-C: no new lease; the task in hand is finished first.

    EXTERNAL_TASK_TYPES=embedding_generation npm start        # the service leaves these to external workers
    TASK_MANAGER_URL=http://localhost:8084 TASK_MANAGER_API_KEY=<worker key> python3 examples/python/embedding_worker.py

Settings (environment): TASK_MANAGER_URL, TASK_MANAGER_API_KEY (a key with the worker role;
unset when authentication is off), WORKER_ID, EMBEDDING_DIMENSION (as the service's, default
384), LEASE_SECONDS (30), WAIT_SECONDS (20), WORK_DELAY_SECONDS (0: a pause before each
task is completed, to watch heartbeats and cancellation).
"""

import json
import math
import os
import signal
import socket
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request

MODEL = "hashing-murmur3-unigram-bigram-v1"


# --- The embedder: a port of src/pipeline/embedding/hashing-embedder.ts, feature for feature. ---

def murmur3(data: bytes, seed: int) -> int:
    """MurmurHash3 x86 32-bit, unsigned (as mmh3.hash(data, seed, signed=False))."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    blocks = len(data) & ~3
    for i in range(0, blocks, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = len(data) & 3
    if tail:
        k = int.from_bytes(data[blocks:blocks + tail], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def tokenize(text: str) -> list:
    """Lower-cased runs of letters, combining marks and digits (Unicode categories L*, M*, N*), after NFKC."""
    tokens, current = [], []
    for char in unicodedata.normalize("NFKC", text).lower():
        if unicodedata.category(char)[0] in "LMN":
            current.append(char)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def embed(text: str, dimension: int) -> list:
    counts = {}
    tokens = tokenize(text)
    for i, token in enumerate(tokens):
        counts[token] = counts.get(token, 0) + 1
        if i > 0:
            bigram = tokens[i - 1] + " " + token
            counts[bigram] = counts.get(bigram, 0) + 1
    vector = [0.0] * dimension
    for feature, count in counts.items():
        data = feature.encode("utf-8")
        sign = -1 if murmur3(data, 1) & 1 else 1
        vector[murmur3(data, 0) % dimension] += sign * (1 + math.log(count))
    norm = math.sqrt(sum(value * value for value in vector))
    return vector if norm == 0 else [value / norm for value in vector]


# --- The service's API. ---

class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class Client:
    def __init__(self, base_url: str, api_key: str | None):
        self.base_url, self.api_key = base_url.rstrip("/"), api_key

    def post(self, path: str, body: dict, timeout: float) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read() or b"{}")
            except ValueError:
                detail = {}
            raise ApiError(error.code, detail.get("code", "UNKNOWN"), detail.get("message", str(error))) from None


class PermanentError(Exception):
    """A payload this worker cannot serve: retrying would not help."""


class Worker:
    def __init__(self):
        self.client = Client(os.environ.get("TASK_MANAGER_URL", "http://localhost:8084"),
                             os.environ.get("TASK_MANAGER_API_KEY") or None)
        self.worker_id = os.environ.get("WORKER_ID") or f"py-embedder-{socket.gethostname()}-{os.getpid()}"
        self.dimension = int(os.environ.get("EMBEDDING_DIMENSION", "384"))
        self.lease_seconds = int(os.environ.get("LEASE_SECONDS", "30"))
        self.wait_seconds = int(os.environ.get("WAIT_SECONDS", "20"))
        self.work_delay = float(os.environ.get("WORK_DELAY_SECONDS", "0"))
        self.stopping = threading.Event()

    def run(self) -> None:
        log(f"{self.worker_id}: leasing embedding_generation tasks")
        while not self.stopping.is_set():
            try:
                answer = self.client.post("/api/v1/workers/lease", {
                    "worker_id": self.worker_id,
                    "task_types": ["embedding_generation"],
                    "max_tasks": 1,
                    "lease_seconds": self.lease_seconds,
                    "wait_seconds": self.wait_seconds,
                }, timeout=self.wait_seconds + 10)
            except (ApiError, OSError) as error:
                log(f"lease failed ({error}); retrying in 1 s")
                self.stopping.wait(1)
                continue
            # Tasks leased while a stop was asked are still ours: they are run, not abandoned.
            for task in answer["tasks"]:
                self.handle(task)
        log(f"{self.worker_id}: stopped")

    def handle(self, task: dict) -> None:
        lost = threading.Event()
        beating = threading.Event()
        heartbeat = threading.Thread(target=self.heartbeat, args=(task, lost, beating), daemon=True)
        heartbeat.start()
        try:
            result = self.embed_task(task["payload"], lost)
            outcome = ("complete", {"result": result}) if result is not None else None
        except PermanentError as error:
            outcome = ("fail", {"error": str(error), "retryable": False})
        except Exception as error:  # noqa: BLE001 - any other failure may pass on a retry
            outcome = ("fail", {"error": f"{type(error).__name__}: {error}", "retryable": True})
        finally:
            beating.set()
            heartbeat.join()
        if outcome is None or lost.is_set():
            return
        verb, body = outcome
        try:
            self.client.post(f"/api/v1/tasks/{task['id']}/{verb}", {"lease_token": task["lease_token"], **body}, timeout=30)
            log(f"task {task['id']}: {verb}d")
        except ApiError as error:
            # 409: cancelled, expired or taken over meanwhile; the service keeps what it has.
            log(f"task {task['id']}: {verb} refused ({error})")

    def embed_task(self, payload: dict, lost: threading.Event) -> dict | None:
        texts = payload.get("texts")
        if not texts or payload.get("store"):
            raise PermanentError("this worker embeds inline texts only (payload.texts, without store)")
        if payload.get("model") not in (None, MODEL):
            raise PermanentError(f"this worker serves the model {MODEL}, not {payload['model']}")
        vectors = [embed(text, self.dimension) for text in texts]
        # A pause to watch heartbeats and cancellation work; ends early when the lease is gone.
        if self.work_delay and lost.wait(self.work_delay):
            return None
        return {"model": MODEL, "dimension": self.dimension, "embedded": len(vectors), "vectors": vectors, "stored": None}

    def heartbeat(self, task: dict, lost: threading.Event, done: threading.Event) -> None:
        """Renews the lease every third of it until the task is done; a 409 means stop (cancelled, expired, lost)."""
        while not done.wait(self.lease_seconds / 3):
            try:
                self.client.post(f"/api/v1/tasks/{task['id']}/heartbeat",
                                 {"lease_token": task["lease_token"], "lease_seconds": self.lease_seconds}, timeout=10)
            except ApiError as error:
                if error.status == 409:
                    log(f"task {task['id']}: lease gone ({error.code}); dropping it")
                    lost.set()
                    return
                log(f"heartbeat failed ({error})")
            except OSError as error:
                log(f"heartbeat failed ({error})")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main() -> None:
    worker = Worker()

    def stop(signum, _frame):
        log(f"{signal.Signals(signum).name}: finishing the task in hand, then stopping")
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()


if __name__ == "__main__":
    main()
