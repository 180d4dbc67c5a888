// Call control commands (hang-up, hold, resume, DTMF, transfer, consultation, conference,
// click-to-dial): the page lists the POST paths the server has under /api/v1/calls, so
// the desktop's buttons light up only for commands the server offers.

const SUFFIX = {
  hangup: "/hangup",
  hold: "/hold",
  unhold: "/resume",
  dtmf: "/dtmf",
  transfer: "/transfer",
  consult: "/consult",
  complete: "/consult/complete",
  cancel: "/consult/cancel",
  conference: "/conference",
};

/** {action: path template} of the commands among ``paths``; ``dial`` is click-to-dial. */
export function liveCallActions(paths) {
  const found = {};
  for (const path of paths || []) {
    if (/\/calls$/.test(path)) found.dial = path;
    for (const [action, suffix] of Object.entries(SUFFIX)) {
      if (path.endsWith(`}${suffix}`)) found[action] = path;
    }
  }
  return found;
}

/** The body a command takes from the desktop's fields. */
export function commandBody(action, { kind, target, digits }) {
  if (action === "transfer" || action === "consult" || action === "dial") return { kind, target };
  if (action === "dtmf") return { digits };
  return undefined;
}
