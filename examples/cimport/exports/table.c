/* C that calls functions the sx program exports: it tabulates an sx function and folds the
   table with an sx combiner (doubles and 64-bit integers, so both register files are used). */
#include <stdint.h>

double sx_curve(double x);
int64_t sx_combine(int64_t acc, int64_t value, int32_t index);

int64_t tabulate(int32_t n) {
    int64_t acc = 0;
    for (int32_t i = 0; i < n; i++) {
        acc = sx_combine(acc, (int64_t)(sx_curve((double)i) * 10.0), i);
    }
    return acc;
}
