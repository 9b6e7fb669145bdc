// What a person set on a plan page that a redraw must not throw away (the results metric shown,
// the outlook's range, the last what-if asked), kept per plan for this tab, forgotten at logout.

const kept = new Map();

/** The plan's memory: a plain object the sections read and write ({metric, outlookRange, whatIf}). */
export function remembered(planId) {
  if (!kept.has(planId)) kept.set(planId, {});
  return kept.get(planId);
}

export function forgetAll() {
  kept.clear();
}
