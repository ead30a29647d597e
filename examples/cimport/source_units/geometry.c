/* A small C library compiled from a `#source` entry: integer geometry with a scale that
 * the unit's `#define` sets, and a counter kept in C. */
#ifndef GEO_SCALE
#define GEO_SCALE 1
#endif

static int calls;

long long geo_area(int w, int h) {
    calls++;
    return (long long)w * h * GEO_SCALE;
}

int geo_scale(void) { return GEO_SCALE; }

int geo_calls(void) { return calls; }

#ifdef GEO_FAST
int geo_optimised(void) { return 1; }
#else
int geo_optimised(void) { return 0; }
#endif
