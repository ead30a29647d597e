/* The fault trap around compile-time C calls (see src/fault_trap.rs).
 *
 * sx_trap_call runs one libffi call with the trap armed for the calling thread: a SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL or SIGABRT raised while C runs jumps back here (siglongjmp from the
 * handler, on the alternate signal stack so a C stack overflow is caught too) and the call
 * returns the signal instead of taking the process down. A signal on a thread without an armed
 * trap gets the behaviour of the handler that was installed before ours (Rust's stack
 * overflow handler, or the default action), so compiler bugs still crash as before. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

typedef void (*sx_ffi_call_fn)(void *cif, void (*fn)(void), void *rvalue, void **avalue);

struct sx_trap {
    sigjmp_buf env;
    struct sx_trap *prev;
};

static __thread struct sx_trap *volatile sx_armed;
static __thread volatile int sx_fault_signal;
static __thread void *volatile sx_fault_addr;
static __thread int sx_altstack_checked;

static const int sx_trapped[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define SX_NTRAPPED ((int)(sizeof sx_trapped / sizeof sx_trapped[0]))
static struct sigaction sx_previous[SX_NTRAPPED];

static void sx_handler(int sig, siginfo_t *info, void *uctx) {
    struct sx_trap *t = sx_armed;
    if (t != NULL) {
        sx_armed = NULL;
        sx_fault_signal = sig;
        sx_fault_addr = info != NULL ? info->si_addr : NULL;
        siglongjmp(t->env, 1);
    }
    for (int i = 0; i < SX_NTRAPPED; i++) {
        if (sx_trapped[i] != sig) {
            continue;
        }
        struct sigaction *old = &sx_previous[i];
        if (old->sa_flags & SA_SIGINFO) {
            old->sa_sigaction(sig, info, uctx);
            return;
        }
        if (old->sa_handler == SIG_IGN) {
            return;
        }
        if (old->sa_handler != SIG_DFL) {
            old->sa_handler(sig);
            return;
        }
        /* The default action: uninstall, then a fault re-executes its instruction on return and
         * a sent signal (kill, raise, abort) is sent again. */
        struct sigaction dfl;
        dfl.sa_handler = SIG_DFL;
        dfl.sa_flags = 0;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        if (info == NULL || info->si_code <= 0) {
            raise(sig);
        }
        return;
    }
}

/* Installs the handler for the trapped signals (once per process; the caller serialises).
 * Returns 0 on success. */
int sx_trap_install(void) {
    for (int i = 0; i < SX_NTRAPPED; i++) {
        struct sigaction sa;
        sa.sa_sigaction = sx_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sx_trapped[i], &sa, &sx_previous[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Gives the calling thread an alternate signal stack if it has none (threads Rust starts have
 * one), so the handler can run when C overflowed its stack. */
static void sx_ensure_altstack(void) {
    if (sx_altstack_checked) {
        return;
    }
    sx_altstack_checked = 1;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) {
        return;
    }
    size_t size = 64 * 1024;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return;
    }
    stack_t ss;
    ss.ss_sp = p;
    ss.ss_size = size;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, size);
    }
}

/* Disarms the calling thread's trap (while C calls back into the compiler, whose own faults
 * must crash as usual); returns what sx_trap_resume re-arms. */
void *sx_trap_suspend(void) {
    struct sx_trap *t = sx_armed;
    sx_armed = NULL;
    return t;
}

void sx_trap_resume(void *trap) {
    sx_armed = (struct sx_trap *)trap;
}

/* Abandons the innermost trapped call from inside it (a callback into the compiler failed):
 * jumps back to sx_trap_call, which returns -1. Returns only when no call is trapped. */
void sx_trap_bail(void) {
    struct sx_trap *t = sx_armed;
    if (t != NULL) {
        sx_armed = NULL;
        sx_fault_signal = -1;
        sx_fault_addr = NULL;
        siglongjmp(t->env, 1);
    }
}

/* call(cif, fn, rvalue, avalue) with the trap armed. Returns 0 when C returned, or the signal
 * that ended it (then *fault_addr is the faulting address the kernel reported), or -1 when
 * sx_trap_bail ended it. */
int sx_trap_call(sx_ffi_call_fn call, void *cif, void (*fn)(void), void *rvalue, void **avalue, void **fault_addr) {
    struct sx_trap trap;
    sx_ensure_altstack();
    trap.prev = sx_armed;
    if (sigsetjmp(trap.env, 0) != 0) {
        /* The mask was not saved (no system call per call): unblock the signal the handler
         * left blocked. */
        int sig = sx_fault_signal;
        if (sig > 0) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, sig);
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        }
        sx_armed = trap.prev;
        *fault_addr = sx_fault_addr;
        return sig;
    }
    sx_armed = &trap;
    call(cif, fn, rvalue, avalue);
    sx_armed = trap.prev;
    return 0;
}
