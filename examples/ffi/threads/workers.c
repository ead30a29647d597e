/* Starts one thread per job and waits for all of them: the thread function is an sx function
   (`abi(.c)`), so every job calls back into sx from a thread C created. */
#include <pthread.h>
#include <stddef.h>

int run_workers(int n, void *(*work)(void *), void *jobs, size_t stride) {
    pthread_t threads[16];
    if (n < 0 || n > 16) return -1;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, work, (char *)jobs + (size_t)i * stride) != 0) return -2;
    }
    int done = 0;
    for (int i = 0; i < n; i++) {
        void *back = NULL;
        pthread_join(threads[i], &back);
        if (back == (char *)jobs + (size_t)i * stride) done++;
    }
    return done;
}

/* Keeps a function pointer for later calls (a registered handler, as in event libraries). */
static long (*kept)(long);

void keep_handler(long (*handler)(long)) { kept = handler; }

long fire_handler(long x) { return kept ? kept(x) + 1 : -1; }
