/* The scripted state that drives the fake NVML and ROCm SMI libraries of the tests. The file named
 * by $CARBONMETER_FAKE_GPU_STATE holds one line per GPU and per GPU process, re-read whenever it
 * changes:
 *   gpu index=0 uuid=GPU-0 energy_mj=1000 power_mw=250000 counter=1 mig=0 lost=0 procutil=1 name=NVIDIA H100
 *   proc gpu=0 pid=1234 sm=40
 * counter=0: the energy counter is not supported; procutil=0: no per-process utilisation;
 * lost=1: the GPU stopped answering; mig_uuid=MIG-…: a MIG instance on this GPU (with mig=1).
 * name= takes the rest of the line.
 * Power limits (NVML): min_limit_mw= max_limit_mw= default_limit_mw= (0: not supported), limit_mw= the
 * limit at start, perm=0: setting a limit is refused (no permission). A limit that is set lives in
 * the file STATE.limits (one line "INDEX LIMIT_MW" per GPU), shared by every process like the real
 * device's. demand_mw=D turns on the power-limit model: the GPU draws min(limit, D), and its
 * energy counter grows by that power over real time. */
#ifndef FAKE_GPU_STATE_H
#define FAKE_GPU_STATE_H

#define FAKE_MAX_GPUS 16
#define FAKE_MAX_PROCS 64

struct fake_gpu {
  unsigned index;
  char uuid[96];
  char mig_uuid[96];
  char name[96];
  unsigned long long energy_mj;
  unsigned power_mw;
  int counter, mig, lost, procutil;
  unsigned min_limit_mw, max_limit_mw, default_limit_mw, limit_mw, demand_mw;
  int perm;
};

struct fake_proc {
  unsigned gpu;
  unsigned pid;
  unsigned sm;
};

struct fake_state {
  int gpus;
  struct fake_gpu gpu[FAKE_MAX_GPUS];
  int procs;
  struct fake_proc proc[FAKE_MAX_PROCS];
};

/* The current state (re-read when the file changed); never NULL. */
const struct fake_state* fake_state_get(void);

/* The power limit of the GPU on line i in mW: STATE.limits when it names it, else limit_mw. */
unsigned fake_power_limit_mw(int i);
/* Writes a new limit for the GPU on line i into STATE.limits; 0 on success. */
int fake_set_power_limit_mw(int i, unsigned limit_mw);

#endif
