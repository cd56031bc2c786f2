// Preloaded into an assembly (node -r) by swap-crash.test.ts: SIGKILLs the process right after the
// rename whose destination ends with KILL_AFTER_RENAME_TO, to stop it between two renames of a swap.
'use strict';
const fs = require('node:fs');
const suffix = process.env.KILL_AFTER_RENAME_TO;
const rename = fs.renameSync;
fs.renameSync = function renameThenDie(from, to) {
  rename(from, to);
  if (suffix && String(to).endsWith(suffix)) process.kill(process.pid, 'SIGKILL');
};
