#include <stdlib.h>
#include "shapes.h"

struct registry { int count; shape items[SHAPES_MAX]; };

double shape_area(const shape *s) {
    switch (s->kind) {
    case SHAPE_CIRCLE: return 3.0 * s->size * s->size;
    case SHAPE_SQUARE: return s->size * s->size;
    case SHAPE_TRIANGLE: return SHAPES_UNIT * s->size * s->size;
    }
    return -1.0;
}

shape shape_make(shape_kind kind, int x, int y, double size) {
    shape s = { kind, { x, y }, size, (unsigned char)('a' + kind) };
    return s;
}

int shape_manhattan(struct point a, struct point b) {
    return abs(a.x - b.x) + abs(a.y - b.y);
}

const char *shape_kind_name(shape_kind kind) {
    switch (kind) {
    case SHAPE_CIRCLE: return "circle";
    case SHAPE_SQUARE: return "square";
    case SHAPE_TRIANGLE: return "triangle";
    }
    return 0;
}

registry *registry_new(void) { return calloc(1, sizeof(registry)); }

int registry_add(registry *r, const shape *s) {
    if (r->count >= SHAPES_MAX) return -1;
    r->items[r->count] = *s;
    return r->count++;
}

double registry_total_area(const registry *r) {
    double t = 0;
    for (int i = 0; i < r->count; i++) t += shape_area(&r->items[i]);
    return t;
}

void registry_free(registry *r) { free(r); }
