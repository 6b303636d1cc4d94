/* FIX framing shared by the C extensions: fix_gateway._codec's frame_end (the gateway's
 * Framer) and bench._fixload (the benchmark's load client). Header-only, static inline. */
#ifndef VENUE_FIX_FRAME_H
#define VENUE_FIX_FRAME_H

#include <stddef.h>
#include <string.h>

/* Where the frame that starts at p[start] ends, within p[0:n]:
 *  0: need more data; 1: complete frame p[start:*end] (well placed trailer);
 *  2: garbled frame p[start:*end] (trailer not where BodyLength says);
 *  3: unusable start (no/invalid BodyLength or too large): skip to *end and resync. */
static inline int fix_frame_end(const char *p, size_t n, size_t start, size_t max_size, size_t *end) {
    const char *soh = memchr(p + start, '\x01', n - start);
    if (!soh) {
        if (n - start > 64) { *end = start + 2; return 3; }
        return 0;
    }
    size_t i = (size_t)(soh - p) + 1;
    if (i + 2 > n) return 0;
    if (p[i] != '9' || p[i + 1] != '=') { *end = start + 2; return 3; }
    size_t k = i + 2;
    size_t bl = 0;
    int digits = 0;
    while (k < n && p[k] >= '0' && p[k] <= '9' && digits < 10) { bl = bl * 10 + (size_t)(p[k] - '0'); k++; digits++; }
    if (k >= n) {
        if (digits < 10) return 0;
        *end = start + 2;
        return 3;
    }
    if (p[k] != '\x01' || digits == 0) { *end = start + 2; return 3; }
    size_t body = k + 1;
    if (bl > max_size) { *end = start + 2; return 3; }
    size_t tr = body + bl; /* expected "10=nnn\x01" */
    if (tr + 7 <= n && p[tr] == '1' && p[tr + 1] == '0' && p[tr + 2] == '=' && p[tr + 6] == '\x01' && p[tr - 1] == '\x01') {
        *end = tr + 7;
        return 1;
    }
    /* trailer not (yet) where expected: look for the first "\x0110=" ... SOH after body start */
    for (size_t j = body - 1; j + 4 <= n; j++) {
        const char *q = memchr(p + j, '\x01', n - j);
        if (!q) break;
        j = (size_t)(q - p);
        if (j + 6 <= n && memcmp(p + j + 1, "8=FIX", 5) == 0) { *end = j + 1; return 2; }
        if (j + 4 <= n && p[j + 1] == '1' && p[j + 2] == '0' && p[j + 3] == '=') {
            const char *e = j + 4 < n ? memchr(p + j + 4, '\x01', n - j - 4) : NULL;
            if (!e) break;
            size_t fe = (size_t)(e - p) + 1;
            if (tr + 7 <= n || fe < tr) { *end = fe; return 2; }
            break; /* the frame may still be completing at the declared length */
        }
    }
    if (n - start > max_size + 64) { *end = start + 2; return 3; }
    return 0;
}

#endif
