/* A small C library imported with `#include` (declarations translated to sx) and
 * `#source` (compiled and linked). */
#ifndef SHAPES_H
#define SHAPES_H

#define SHAPES_MAX 16
#define SHAPES_UNIT 0.5
#define SHAPES_NAME "shapes"
#define SHAPES_LIMIT (SHAPES_MAX * 4 + 1)

typedef enum { SHAPE_CIRCLE = 1, SHAPE_SQUARE = 2, SHAPE_TRIANGLE = 3 } shape_kind;

struct point { int x; int y; };

typedef struct {
    shape_kind kind;
    struct point origin;
    double size;
    unsigned char tag;
} shape;

typedef struct registry registry; /* opaque */

double shape_area(const shape *s);
shape shape_make(shape_kind kind, int x, int y, double size);
int shape_manhattan(struct point a, struct point b);
const char *shape_kind_name(shape_kind kind);

registry *registry_new(void);
int registry_add(registry *r, const shape *s);
double registry_total_area(const registry *r);
void registry_free(registry *r);

#endif
