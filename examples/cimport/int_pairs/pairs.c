#include <stdint.h>
#include <stdlib.h>
#include "pairs.h"

static char *buffer;

struct halves spell_address(int *lo) {
    if (!buffer) buffer = malloc(64);
    uintptr_t p = (uintptr_t)buffer + 2;
    struct halves h = { (int)(uint32_t)p, (int)(uint32_t)(p >> 32), 0.5, 0.25 };
    *lo = h.lo;
    return h;
}
