/* Variadic C functions the sx side calls with `..args: []T`. */
#include <stdarg.h>
#include <stdio.h>

int fmt_sum(int n, ...) {
    va_list ap;
    va_start(ap, n);
    int total = 0;
    for (int i = 0; i < n; i++) total += va_arg(ap, int);
    va_end(ap);
    return total;
}

/* Writes the doubles into `out` as "a;b;c" with one decimal. */
int fmt_doubles(char *out, int cap, int n, ...) {
    va_list ap;
    va_start(ap, n);
    int used = 0;
    for (int i = 0; i < n && used < cap; i++) {
        used += snprintf(out + used, cap - used, i ? ";%.1f" : "%.1f", va_arg(ap, double));
    }
    va_end(ap);
    return used;
}

const char *fmt_greeting(int polite) { return polite ? "good day" : 0; }
