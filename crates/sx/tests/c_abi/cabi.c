/* C side of the by-value struct test (crates/sx/tests/c_abi.rs): functions whose parameters
   and results exercise each System V eightbyte class and the hidden result pointer. */
#include <string.h>

typedef struct { long i; double d; } Mixed;         /* INTEGER, SSE */
typedef struct { double d; int i; } MixedBack;      /* SSE, INTEGER */
typedef struct { float x, y, z; } Vec3;             /* SSE, SSE (one float) */
typedef struct { unsigned char a; unsigned short b; int c; float f; } Small; /* INTEGER, SSE */
typedef struct { const char *name; int extra; } Named; /* pointer, INTEGER */
typedef struct { int v[3]; } Triple;                /* INTEGER, INTEGER */
typedef struct { long a, b, c; double d; } Big;     /* 32 bytes: returned through a pointer */

Mixed mixed_scale(Mixed m, int k) { Mixed r = { m.i * k, m.d * k }; return r; }
MixedBack mixed_back(MixedBack m) { MixedBack r = { m.d + 0.5, m.i - 1 }; return r; }
Vec3 vec3_cross(Vec3 a, Vec3 b) {
    Vec3 r = { a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x };
    return r;
}
long small_sum(long before, Small s, double after) { return before + s.a + s.b + s.c + (long)(s.f * 10) + (long)after; }
long named_len(Named n) { return (long)strlen(n.name) * 100 + n.extra; }
long triple_dot(Triple a, Triple b) { return (long)a.v[0] * b.v[0] + (long)a.v[1] * b.v[1] + (long)a.v[2] * b.v[2]; }
Big big_make(long seed, Mixed m) { Big r = { seed, seed * 2, m.i, m.d }; return r; }
long count_byte(const char *s, int c) { long n = 0; for (; *s; s++) n += *s == c; return n; }
long string_len(const char *s) { return (long)strlen(s); }

/* Passed in memory: more than 16 bytes, or no registers left for both eightbytes. */
typedef struct { const char *name; long a, b, c; } Record;                /* 32 bytes */
typedef struct { unsigned id; int width, height, mipmaps, format; } Texture; /* 20 bytes */
typedef struct { long a, b; } Pair;
long record_score(Record r, int scale) { return ((long)strlen(r.name) + r.a + r.b + r.c) * scale; }
long texture_area(double zoom, Texture t) { return (long)(t.width * t.height * zoom) + t.id + t.mipmaps + t.format; }
long late_pair(long a, long b, long c, long d, long e, Pair p, long f) { return a + b + c + d + e + f + p.a * 1000 + p.b * 100000; }
Record record_swap(Record r) { Record out = { r.name + 1, r.c, r.b, r.a }; return out; }
