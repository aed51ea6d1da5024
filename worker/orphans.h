/* What a crashed worker of this node left running: the children of its
 * ranks, which outlive them (PR_SET_PDEATHSIG reaches only the rank). */
#ifndef TERN_WORKER_ORPHANS_H
#define TERN_WORKER_ORPHANS_H

/* Kills (SIGKILL, with their process groups) the processes whose
 * environment carries TERN_WORKER_ID='id', sparing this process and its
 * ancestors. Call before launching anything. Returns how many were killed;
 * 0 too when /proc cannot be read (a process that cannot be read is
 * passed over). */
int worker_kill_orphans(const char *id);

#endif
