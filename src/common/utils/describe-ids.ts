/** A few ids for an error message, and how many more there are: a message stays short whatever the input. */
export function describeIds(ids: readonly string[], shown = 5): string {
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')} and ${ids.length - shown} more`;
}
