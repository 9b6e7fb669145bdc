// A message for the next page shown (after deleting a plan, the list says so).

let pending = null;

export function leaveNotice(node) {
  pending = node;
}

/** The waiting message once, then nothing. */
export function takeNotice() {
  const node = pending;
  pending = null;
  return node;
}
