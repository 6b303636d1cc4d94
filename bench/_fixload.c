/* bench._fixload: one open-loop latency phase of bench.e2e's load client, in C.
 *
 * latency_phase() takes over the client's connected, non-blocking socket for the phase and
 * does what the Python path (the latency loop of _client_main, drain(15), _Load.new_order,
 * cancel_oldest and feed) does, without an event loop's wake-up cost: order i is due at
 * t0 + (int64)(i * interval) on CLOCK_MONOTONIC (time.perf_counter_ns); a timerfd, armed at
 * the next order's absolute time, wakes an epoll loop of its own, which sends every order then
 * due in one write and records when. Then it reads until every order is answered or `drain`
 * seconds passed.
 *
 * Invariants and limits:
 * - The bytes are the Python templates' (_Writer._orders / _cancels, split at their %
 *   conversions by the caller): BodyLength and CheckSum are computed here, SendingTime and
 *   TransactTime are CLOCK_REALTIME as format_utc writes it (one text per millisecond).
 * - Limit prices come from a generator of its own (splitmix64; its state goes in and out as
 *   `prng`), not Python's random: ref * (1 + uniform(lo, hi)), the same formula.
 * - The resting queue holds every order the client may still cancel, oldest first; an order
 *   awaiting its first report is never dropped from it (it may still come to rest), so every
 *   awaited order is in it. A ClOrdID table over the queue finds an order by report.
 * - Frames are cut as fix_gateway.codec.Framer does (fix_gateway/_frame.h, shared); each
 *   frame's CheckSum is verified; only the tags the load needs are read, as the first
 *   SOH-anchored occurrence in the frame (as _Load.feed).
 * - Blocking is bounded: epoll_wait always has a finite timeout (the client may run
 *   SCHED_FIFO), EPOLLOUT is watched only while output is pending. Nothing touches Python
 *   objects while the GIL is released; an EINTR takes it back to run signal handlers.
 * - Unsent output is never dropped: what the socket did not take by the end is handed back
 *   (`unsent`) for the transport to write.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../fix_gateway/_frame.h"

#define NSHAPES_MAX 64
#define ORDER_PIECES 7   /* seq, time, ClOrdID, units ".", cents, time */
#define CANCEL_PIECES 6  /* seq, time, ClOrdID, OrigClOrdID, time */
#define HEARTBEAT_PIECES 4 /* seq, time, TestReqID */
#define READ_CHUNK 65536
#define CL_INLINE 24
#define TEXT_MAX 60      /* Text(58) counted by its first 60 characters */

enum { OK = 0, E_NOMEM, E_OS, E_CLOSED, E_GARBLED, E_SIGNAL, E_VALUE };
enum { SENDING, TAIL, DRAIN };

/* ----------------------------------------------------------------------------- buffers */

typedef struct { char *p; size_t len, cap; } buf_t;
typedef struct { int64_t *p; size_t len, cap; } vec_t;
typedef struct { const char *p; size_t n; } span_t;

static int buf_reserve(buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(buf_t *b, const void *s, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int vec_push(vec_t *v, int64_t x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        int64_t *p = realloc(v->p, cap * sizeof *p);
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->len++] = x;
    return 0;
}

static size_t fmt_u64(char *dst, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    return n;
}

/* ----------------------------------------------------------------------------- resting queue */

typedef struct {
    uint64_t hash;
    int64_t sched, written;  /* perf_counter ns, while awaiting its first report */
    char *heap;              /* the ClOrdID when longer than CL_INLINE */
    uint32_t len;
    uint8_t shape, live, awaiting;
    char cl[CL_INLINE];
} entry_t;

/* A deque of entries (e[head..tail), e[i] has the absolute index base + i) and an
 * open-addressing table over it (absolute index or -1; linear probing, backward-shift
 * deletion). */
typedef struct {
    entry_t *e;
    size_t head, tail, cap;
    int64_t base;
    int64_t *slot;
    size_t mask;
} queue_t;

static inline const char *ent_cl(const entry_t *e) { return e->heap ? e->heap : e->cl; }
static inline size_t q_count(const queue_t *q) { return q->tail - q->head; }
static inline entry_t *q_at(queue_t *q, int64_t abs) { return &q->e[abs - q->base]; }

static uint64_t hash_cl(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)p[i]; h *= 1099511628211ULL; }
    return h ^ (h >> 29);
}

static entry_t *q_find(queue_t *q, const char *cl, size_t n, size_t *slot_out) {
    if (!q->slot) return NULL;
    uint64_t h = hash_cl(cl, n);
    for (size_t i = h & q->mask;; i = (i + 1) & q->mask) {
        int64_t a = q->slot[i];
        if (a < 0) return NULL;
        entry_t *e = q_at(q, a);
        if (e->hash == h && e->len == n && memcmp(ent_cl(e), cl, n) == 0) {
            if (slot_out) *slot_out = i;
            return e;
        }
    }
}

static void q_place(queue_t *q, int64_t abs) {
    size_t i = q_at(q, abs)->hash & q->mask;
    while (q->slot[i] >= 0) i = (i + 1) & q->mask;
    q->slot[i] = abs;
}

static int q_rehash(queue_t *q, size_t size) {
    int64_t *slot = malloc(size * sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < size; i++) slot[i] = -1;
    free(q->slot);
    q->slot = slot;
    q->mask = size - 1;
    for (size_t i = q->head; i < q->tail; i++) q_place(q, q->base + (int64_t)i);
    return 0;
}

/* Appends an order; NULL on memory failure (errno ENOMEM) or a duplicate (EEXIST). */
static entry_t *q_push(queue_t *q, const char *cl, size_t n, int shape, int live) {
    if (q_find(q, cl, n, NULL)) { errno = EEXIST; return NULL; }
    if (!q->slot || (q_count(q) + 1) * 2 > q->mask + 1) {
        size_t size = q->slot ? (q->mask + 1) * 2 : 1024;
        while ((q_count(q) + 1) * 2 > size) size *= 2;
        if (q_rehash(q, size) < 0) { errno = ENOMEM; return NULL; }
    }
    if (q->tail == q->cap) {
        if (q->head > 0 && q->head >= q->cap / 2) {  /* slide down; absolute indices stay */
            memmove(q->e, q->e + q->head, q_count(q) * sizeof *q->e);
            q->base += (int64_t)q->head;
            q->tail -= q->head;
            q->head = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 1024;
            entry_t *e = realloc(q->e, cap * sizeof *e);
            if (!e) { errno = ENOMEM; return NULL; }
            q->e = e;
            q->cap = cap;
        }
    }
    entry_t *e = &q->e[q->tail];
    memset(e, 0, sizeof *e);
    if (n > CL_INLINE) {
        if (n > UINT32_MAX || !(e->heap = malloc(n))) { errno = ENOMEM; return NULL; }
        memcpy(e->heap, cl, n);
    } else {
        memcpy(e->cl, cl, n);
    }
    e->len = (uint32_t)n;
    e->hash = hash_cl(cl, n);
    e->shape = (uint8_t)shape;
    e->live = (uint8_t)(live != 0);
    q->tail++;
    q_place(q, q->base + (int64_t)(q->tail - 1));
    return e;
}

static void q_pop_front(queue_t *q) {
    entry_t *e = &q->e[q->head];
    size_t i;
    if (q_find(q, ent_cl(e), e->len, &i)) {
        for (;;) {  /* backward-shift deletion */
            q->slot[i] = -1;
            size_t j = i, k;
            for (;;) {
                j = (j + 1) & q->mask;
                if (q->slot[j] < 0) goto removed;
                k = q_at(q, q->slot[j])->hash & q->mask;
                if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) break;
            }
            q->slot[i] = q->slot[j];
            i = j;
        }
    }
removed:
    free(e->heap);
    e->heap = NULL;
    q->head++;
    if (q->head == q->tail) {
        q->base += (int64_t)q->head;
        q->head = q->tail = 0;
    }
}

static void q_free(queue_t *q) {
    for (size_t i = q->head; i < q->tail; i++) free(q->e[i].heap);
    free(q->e);
    free(q->slot);
    memset(q, 0, sizeof *q);
}

/* ----------------------------------------------------------------------------- phase state */

typedef struct { char *p; size_t n; int64_t count; } text_t;

typedef struct {
    /* input */
    int fd;
    span_t head, prefix;
    span_t orders[NSHAPES_MAX][ORDER_PIECES], cancels[NSHAPES_MAX][CANCEL_PIECES];
    span_t heartbeat[HEARTBEAT_PIECES];
    int nshapes, shapes[2];
    int64_t refs[NSHAPES_MAX];
    double lo, hi, interval;
    int64_t max_resting, seq, n, t0, total, measure_from, drain_ns, max_frame;
    uint64_t prng;
    int trace;
    /* state */
    queue_t q;
    buf_t in, out, body;
    size_t out_off;   /* out.p[out_off..out.len) not written yet */
    int want_out;
    int ep, tfd;
    int64_t i, awaiting, m0, late, wakeups, blocked_writes, rejects, fills, cancels_sent, cancel_acks, cancel_rejects;
    int64_t utc_ms, utc_sec;
    char utc_text[40], utc_sec_text[32];
    size_t utc_n, utc_sec_n;
    vec_t latency, from_write, send_lag, trace_rows;
    /* the kernel's receive timestamp of the bytes being handled (SO_TIMESTAMPNS, on
     * CLOCK_MONOTONIC), and per measured order: first report's arrival - scheduled, arrival -
     * written (the venue's part, neither client wake-up in it), read - arrival (the client's
     * own wake-up and scheduling on receipt) */
    int64_t rx;
    int rx_stamped;   /* the socket gives receive timestamps */
    vec_t to_arrival, write_to_arrival, read_lag;
    text_t *texts;
    size_t ntexts, texts_cap;
    /* error */
    int err, err_errno;
    const char *err_what;
    char *err_frame;
    size_t err_frame_n;
    PyThreadState *save;
    PyObject *keep;   /* the template bytes, referenced while the GIL is released */
} phase_t;

static int fail(phase_t *s, int err, const char *what) {
    if (!s->err) {
        s->err = err;
        s->err_errno = errno;
        s->err_what = what;
    }
    return -1;
}

static int fail_frame(phase_t *s, const char *what, const char *p, size_t n) {
    fail(s, E_GARBLED, what);
    if ((s->err_frame = malloc(n ? n : 1))) {
        memcpy(s->err_frame, p, n);
        s->err_frame_n = n;
    }
    return -1;
}

static inline int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* UTCTimestamp text of now (format_utc: YYYYMMDD-HH:MM:SS.sss), one per millisecond. */
static span_t utc_now(phase_t *s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (ms != s->utc_ms) {
        int64_t sec = ms / 1000;
        if (sec != s->utc_sec) {
            time_t t = (time_t)sec;
            struct tm tm;
            gmtime_r(&t, &tm);
            s->utc_sec_n = strftime(s->utc_sec_text, sizeof s->utc_sec_text, "%Y%m%d-%H:%M:%S", &tm);
            s->utc_sec = sec;
        }
        memcpy(s->utc_text, s->utc_sec_text, s->utc_sec_n);
        int rem = (int)(ms % 1000);
        char *p = s->utc_text + s->utc_sec_n;
        p[0] = '.';
        p[1] = (char)('0' + rem / 100);
        p[2] = (char)('0' + rem / 10 % 10);
        p[3] = (char)('0' + rem % 10);
        s->utc_n = s->utc_sec_n + 4;
        s->utc_ms = ms;
    }
    return (span_t){s->utc_text, s->utc_n};
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ----------------------------------------------------------------------------- output */

/* One message: body = pieces[0] vals[0] pieces[1] ... vals[nv-1] pieces[nv], then head
 * (8=..|9=<BodyLength>|) and trailer (10=<CheckSum>|) around it, at the end of `out`. */
static int emit(phase_t *s, const span_t *pieces, const span_t *vals, int nv) {
    buf_t *b = &s->body;
    b->len = 0;
    for (int k = 0; k < nv; k++)
        if (buf_put(b, pieces[k].p, pieces[k].n) < 0 || buf_put(b, vals[k].p, vals[k].n) < 0)
            return fail(s, E_NOMEM, NULL);
    if (buf_put(b, pieces[nv].p, pieces[nv].n) < 0) return fail(s, E_NOMEM, NULL);
    char len_text[24];
    size_t ln = fmt_u64(len_text, b->len);
    if (buf_reserve(&s->out, s->head.n + ln + 1 + b->len + 7) < 0) return fail(s, E_NOMEM, NULL);
    unsigned char *start = (unsigned char *)s->out.p + s->out.len;
    buf_put(&s->out, s->head.p, s->head.n);
    buf_put(&s->out, len_text, ln);
    buf_put(&s->out, "\x01", 1);
    buf_put(&s->out, b->p, b->len);
    unsigned sum = 0;
    for (const unsigned char *u = start, *e = (unsigned char *)s->out.p + s->out.len; u < e; u++) sum += *u;
    sum &= 255;
    char tr[7] = {'1', '0', '=', (char)('0' + sum / 100), (char)('0' + sum / 10 % 10), (char)('0' + sum % 10), '\x01'};
    buf_put(&s->out, tr, 7);
    return 0;
}

static int watch(phase_t *s, int want_out) {
    if (s->want_out == want_out) return 0;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = 1};
    if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->fd, &ev) < 0) return fail(s, E_OS, "epoll_ctl");
    s->want_out = want_out;
    return 0;
}

/* Writes what is pending; on EAGAIN keeps the rest and watches for EPOLLOUT. */
static int flush_out(phase_t *s) {
    while (s->out_off < s->out.len) {
        ssize_t w = send(s->fd, s->out.p + s->out_off, s->out.len - s->out_off, MSG_NOSIGNAL);
        if (w >= 0) { s->out_off += (size_t)w; continue; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->blocked_writes += !s->want_out;
            if (s->out_off > s->out.cap / 2) {  /* keep the buffer from growing without end */
                memmove(s->out.p, s->out.p + s->out_off, s->out.len - s->out_off);
                s->out.len -= s->out_off;
                s->out_off = 0;
            }
            return watch(s, 1);
        }
        if (errno == EPIPE || errno == ECONNRESET) return fail(s, E_CLOSED, "send");
        return fail(s, E_OS, "send");
    }
    s->out.len = s->out_off = 0;
    return watch(s, 0);
}

static int send_cancel(phase_t *s, const entry_t *e) {
    char seq[24];
    span_t ts = utc_now(s);
    span_t cl = {ent_cl(e), e->len};
    span_t vals[5] = {{seq, fmt_u64(seq, (uint64_t)s->seq++)}, ts, cl, cl, ts};
    return emit(s, s->cancels[e->shape], vals, 5);
}

/* _Load.cancel_oldest: drop answered orders from the front; cancel the first live one; stop
 * at one still awaiting its first report. */
static int cancel_oldest(phase_t *s) {
    while (q_count(&s->q)) {
        entry_t *e = &s->q.e[s->q.head];
        if (e->awaiting) return 0;
        int live = e->live;
        if (live) {
            s->cancels_sent++;
            if (send_cancel(s, e) < 0) return -1;
        }
        q_pop_front(&s->q);
        if (live) return 0;
    }
    return 0;
}

/* _Load.new_order: ClOrdID prefix + n, alternating shapes, price ref * (1 + u(lo, hi)). */
static int new_order(phase_t *s, int64_t sched) {
    s->n++;
    int shape = s->shapes[s->n & 1];
    int64_t ref = s->refs[shape];
    double u = (double)(splitmix64(&s->prng) >> 11) * 0x1.0p-53;
    int64_t cents = ref + (int64_t)((double)ref * (s->lo + (s->hi - s->lo) * u));
    if (cents < 0) cents = 0;
    char cl[64], seq[24], units[24], cc[2];
    memcpy(cl, s->prefix.p, s->prefix.n);
    size_t cn = s->prefix.n + fmt_u64(cl + s->prefix.n, (uint64_t)s->n);
    entry_t *e = q_push(&s->q, cl, cn, shape, 0);
    if (!e) return fail(s, errno == EEXIST ? E_VALUE : E_NOMEM, "a new ClOrdID is already resting (n too small)");
    e->awaiting = 1;
    e->sched = sched;
    s->awaiting++;
    size_t un = fmt_u64(units, (uint64_t)(cents / 100));
    units[un++] = '.';
    cc[0] = (char)('0' + cents % 100 / 10);
    cc[1] = (char)('0' + cents % 10);
    span_t ts = utc_now(s);
    span_t vals[6] = {{seq, fmt_u64(seq, (uint64_t)s->seq++)}, ts, {cl, cn}, {units, un}, {cc, 2}, ts};
    if (emit(s, s->orders[shape], vals, 6) < 0) return -1;
    if ((int64_t)q_count(&s->q) > s->max_resting) return cancel_oldest(s);
    return 0;
}

static inline int64_t scheduled(const phase_t *s, int64_t i) {
    return s->t0 + (int64_t)((double)i * s->interval);
}

static int arm(phase_t *s, int64_t t) {
    struct itimerspec it = {{0, 0}, {(time_t)(t / 1000000000), (long)(t % 1000000000)}};
    if (it.it_value.tv_nsec < 1) it.it_value.tv_nsec = 1;  /* (0 would disarm) */
    if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &it, NULL) < 0) return fail(s, E_OS, "timerfd_settime");
    return 0;
}

/* One wake-up: every order due, in one write; then the timer for the next one (or for the
 * end of the schedule). */
static int send_due(phase_t *s, int *state) {
    s->wakeups++;
    int64_t now = mono_ns();
    int64_t first = s->i;
    while (s->i < s->total && scheduled(s, s->i) <= now) {
        if (new_order(s, scheduled(s, s->i)) < 0) return -1;
        s->i++;
    }
    if (flush_out(s) < 0) return -1;
    int64_t written = mono_ns();
    /* the orders just sent are the last ones queued (only answered ones leave, at the front) */
    for (size_t k = s->q.tail - (size_t)(s->i - first); k < s->q.tail; k++) s->q.e[k].written = written;
    if (s->i < s->total) return arm(s, scheduled(s, s->i));
    *state = TAIL;
    return arm(s, scheduled(s, s->total));
}

/* ----------------------------------------------------------------------------- input */

static inline ssize_t find(const char *b, size_t from, size_t to, const char *key, size_t kn) {
    if (from >= to) return -1;
    const char *f = memmem(b + from, to - from, key, kn);
    return f ? f - b : -1;
}

/* Value of the first `key` field (b"\x01<tag>=") of the frame b[start:end). */
static int field(const char *b, size_t start, size_t end, const char *key, size_t kn, span_t *v) {
    ssize_t i = find(b, start, end, key, kn);
    if (i < 0) return 0;
    size_t from = (size_t)i + kn;
    ssize_t e = find(b, from, end, "\x01", 1);
    v->p = b + from;
    v->n = (e < 0 ? end : (size_t)e) - from;
    return 1;
}

/* ExecType(150) and OrdStatus(39) as characters, 0 when absent or longer than one. */
static void exec_status(const char *b, size_t start, size_t end, int *et, int *st) {
    ssize_t i = find(b, start, end, "\x01" "150=", 5);
    *et = i >= 0 && (size_t)i + 6 < end && b[i + 6] == 1 ? (unsigned char)b[i + 5] : 0;
    i = find(b, start, end, "\x01" "39=", 4);
    *st = i >= 0 && (size_t)i + 5 < end && b[i + 5] == 1 ? (unsigned char)b[i + 4] : 0;
}

static int count_text(phase_t *s, const char *kind, const char *b, size_t start, size_t end) {
    span_t t = {"", 0};
    field(b, start, end, "\x01" "58=", 4, &t);
    if (t.n > TEXT_MAX) t.n = TEXT_MAX;  /* (latin-1: one character per byte) */
    size_t kn = strlen(kind), n = kn + t.n;
    for (size_t k = 0; k < s->ntexts; k++) {
        text_t *x = &s->texts[k];
        if (x->n == n && memcmp(x->p, kind, kn) == 0 && memcmp(x->p + kn, t.p, t.n) == 0) {
            x->count++;
            return 0;
        }
    }
    if (s->ntexts == s->texts_cap) {
        size_t cap = s->texts_cap ? s->texts_cap * 2 : 8;
        text_t *p = realloc(s->texts, cap * sizeof *p);
        if (!p) return fail(s, E_NOMEM, NULL);
        s->texts = p;
        s->texts_cap = cap;
    }
    char *p = malloc(n ? n : 1);
    if (!p) return fail(s, E_NOMEM, NULL);
    memcpy(p, kind, kn);
    memcpy(p + kn, t.p, t.n);
    s->texts[s->ntexts++] = (text_t){p, n, 1};
    return 0;
}

static int exec_report(phase_t *s, const char *b, size_t start, size_t end, int64_t now) {
    span_t cl = {"", 0};
    field(b, start, end, "\x01" "11=", 4, &cl);
    entry_t *e = q_find(&s->q, cl.p, cl.n, NULL);
    int et, st;
    if (e && e->awaiting) {  /* the order's first report */
        e->awaiting = 0;
        s->awaiting--;
        if (e->sched >= s->m0) {
            if (vec_push(&s->latency, now - e->sched) < 0 || vec_push(&s->from_write, now - e->written) < 0
                || vec_push(&s->send_lag, e->written - e->sched) < 0)
                return fail(s, E_NOMEM, NULL);
            if (s->rx_stamped
                && (vec_push(&s->to_arrival, s->rx - e->sched) < 0
                    || vec_push(&s->write_to_arrival, s->rx - e->written) < 0 || vec_push(&s->read_lag, now - s->rx) < 0))
                return fail(s, E_NOMEM, NULL);
            if (s->trace && (vec_push(&s->trace_rows, e->sched - s->m0) < 0 || vec_push(&s->trace_rows, now - e->sched) < 0))
                return fail(s, E_NOMEM, NULL);
        }
        if (find(b, start, end, "\x01" "150=0\x01" "39=0\x01", 12) >= 0) {
            e->live = 1;
            return 0;
        }
        exec_status(b, start, end, &et, &st);
        if (et == '8') {
            s->rejects++;
            return count_text(s, "", b, start, end);
        }
        if (st == '0') e->live = 1;
        return 0;
    }
    if (find(b, start, end, "\x01" "150=F\x01" "39=2\x01", 12) >= 0) {
        s->fills++;
        if (e) e->live = 0;
        return 0;
    }
    exec_status(b, start, end, &et, &st);
    if (et == 'F') {
        s->fills++;
        if (st == '2' && e) e->live = 0;
    } else if (et == '4') {  /* ours (OrigClOrdID 41) or the venue's (ClOrdID 11) */
        span_t orig;
        if (field(b, start, end, "\x01" "41=", 4, &orig) && orig.n) e = q_find(&s->q, orig.p, orig.n, NULL);
        if (e) e->live = 0;
        s->cancel_acks++;
    }
    return 0;
}

static int on_frame(phase_t *s, const char *b, size_t start, size_t end, int64_t now) {
    if (find(b, start, end, "\x01" "35=8\x01", 6) >= 0) return exec_report(s, b, start, end, now);
    span_t kind;
    if (!field(b, start, end, "\x01" "35=", 4, &kind) || kind.n != 1) return 0;
    if (kind.p[0] == '9') {  /* OrderCancelReject */
        s->cancel_rejects++;
        return count_text(s, "cancel: ", b, start, end);
    }
    if (kind.p[0] == '1') {  /* TestRequest: a Heartbeat with its TestReqID, at once */
        span_t id = {"", 0};
        field(b, start, end, "\x01" "112=", 5, &id);
        /* (id points into the input buffer, which emit does not touch) */
        char seq[24];
        span_t vals[3] = {{seq, fmt_u64(seq, (uint64_t)s->seq++)}, utc_now(s), id};
        return emit(s, s->heartbeat, vals, 3);
    }
    return 0;  /* Logon and anything else: ignored */
}

/* _Load.feed over the input buffer; the unframed rest moves to its front. */
static int on_data(phase_t *s, int64_t now) {
    const char *b = s->in.p;
    size_t n = s->in.len, pos = 0;
    for (;;) {
        ssize_t start = find(b, pos, n, "8=FIX", 5);
        if (start < 0) {
            if (n >= 4 && pos < n - 4) pos = n - 4;  /* garbage: keep what may begin "8=FIX" */
            break;
        }
        size_t end;
        int status = fix_frame_end(b, n, (size_t)start, (size_t)s->max_frame, &end);
        if (status == 0) { pos = (size_t)start; break; }
        if (status == 2) return fail_frame(s, "frame not where BodyLength says", b + start, end - (size_t)start);
        pos = end;
        if (status == 3) continue;
        unsigned sum = 0;
        for (size_t k = (size_t)start; k < end - 7; k++) sum += (unsigned char)b[k];
        const char *c = b + end - 4;
        if (c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9'
            || (unsigned)((c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0')) != (sum & 255))
            return fail_frame(s, "bad CheckSum", b + start, end - (size_t)start);
        if (on_frame(s, b, (size_t)start, end, now) < 0) return -1;
    }
    memmove(s->in.p, s->in.p + pos, n - pos);
    s->in.len = n - pos;
    return 0;
}

/* The receive timestamp of what a recvmsg read, from its control message: for TCP the
 * kernel's timestamp of the last segment the call consumed (so reports that came in earlier
 * segments of the same read are given a later arrival: their to_arrival is overstated, never
 * understated). CLOCK_REALTIME, moved onto CLOCK_MONOTONIC with the offset read now. */
static int64_t rx_mono(struct msghdr *m, int64_t now) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts, real;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            clock_gettime(CLOCK_REALTIME, &real);
            int64_t offset = ((int64_t)real.tv_sec * 1000000000 + real.tv_nsec) - now;
            int64_t rx = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - offset;
            return rx < now ? rx : now;
        }
    }
    return now;
}

static int read_in(phase_t *s) {
    if (buf_reserve(&s->in, READ_CHUNK) < 0) return fail(s, E_NOMEM, NULL);
    char control[CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct iovec iov = {s->in.p + s->in.len, s->in.cap - s->in.len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t r = recvmsg(s->fd, &m, 0);
    if (r == 0) { errno = 0; return fail(s, E_CLOSED, "read"); }
    if (r < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return fail(s, errno == ECONNRESET ? E_CLOSED : E_OS, "read");
    }
    s->in.len += (size_t)r;
    int64_t now = mono_ns();
    s->rx = s->rx_stamped ? rx_mono(&m, now) : now;
    if (on_data(s, now) < 0) return -1;
    return flush_out(s);  /* (Heartbeats) */
}

/* ----------------------------------------------------------------------------- the loop */

static int interrupted(phase_t *s) {
    PyEval_RestoreThread(s->save);
    int r = PyErr_CheckSignals();
    s->save = PyEval_SaveThread();
    if (r < 0) { s->err = E_SIGNAL; return -1; }
    return 0;
}

static int run(phase_t *s) {
    if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) return fail(s, E_OS, "epoll_create1");
    if ((s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) return fail(s, E_OS, "timerfd_create");
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) return fail(s, E_OS, "epoll_ctl");
    int on = 1;  /* receive timestamps for the phase (where the socket has none: not reported) */
    s->rx_stamped = setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
    ev.data.u32 = 2;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tfd, &ev) < 0) return fail(s, E_OS, "epoll_ctl");
    int state = SENDING;
    int64_t deadline = 0;
    if (s->total > 0) {
        if (send_due(s, &state) < 0) return -1;  /* the first wake-up is the call */
    } else {
        state = DRAIN;
        s->late = mono_ns() - s->t0;
        deadline = mono_ns() + s->drain_ns;
    }
    for (;;) {
        int timeout = 100;
        if (state == DRAIN) {
            int64_t left = deadline - mono_ns();
            if (s->awaiting == 0 || left <= 0) return 0;
            if (left < 100000000) timeout = (int)((left + 999999) / 1000000);
        }
        struct epoll_event evs[4];
        int nev = epoll_wait(s->ep, evs, 4, timeout);
        if (nev < 0) {
            if (errno == EINTR) {
                if (interrupted(s) < 0) return -1;
                continue;
            }
            return fail(s, E_OS, "epoll_wait");
        }
        int timer = 0, in = 0, out = 0;
        for (int k = 0; k < nev; k++) {
            if (evs[k].data.u32 == 2) timer = 1;
            else {
                in |= (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
                out |= (evs[k].events & EPOLLOUT) != 0;
            }
        }
        if (timer) {
            uint64_t expirations;
            if (read(s->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN && errno != EINTR)
                return fail(s, E_OS, "read timerfd");
            if (state == SENDING) {
                if (send_due(s, &state) < 0) return -1;
            } else if (state == TAIL) {  /* a schedule's length after t0: the Python loop's end */
                int64_t now = mono_ns();
                s->late = now - scheduled(s, s->total);
                deadline = now + s->drain_ns;
                state = DRAIN;
            }
        }
        if (out && flush_out(s) < 0) return -1;
        if (in && read_in(s) < 0) return -1;
    }
}

/* ----------------------------------------------------------------------------- Python side */

static void phase_free(phase_t *s) {
    if (s->ep >= 0) close(s->ep);
    if (s->tfd >= 0) close(s->tfd);
    q_free(&s->q);
    free(s->in.p);
    free(s->out.p);
    free(s->body.p);
    free(s->latency.p);
    free(s->from_write.p);
    free(s->send_lag.p);
    free(s->to_arrival.p);
    free(s->write_to_arrival.p);
    free(s->read_lag.p);
    free(s->trace_rows.p);
    for (size_t k = 0; k < s->ntexts; k++) free(s->texts[k].p);
    free(s->texts);
    free(s->err_frame);
}

static int bytes_span(PyObject *o, span_t *out, const char *what) {
    if (!PyBytes_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s: bytes expected, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    out->p = PyBytes_AS_STRING(o);
    out->n = (size_t)PyBytes_GET_SIZE(o);
    return 0;
}

/* A sequence of `count` sequences of `pieces` bytes each (the templates). */
static int templates(PyObject *keep, PyObject *seq, int count, int pieces, span_t *out, const char *what) {
    PyObject *f = PySequence_Fast(seq, what);
    if (!f) return -1;
    if (PySequence_Fast_GET_SIZE(f) != count) {
        PyErr_Format(PyExc_ValueError, "%s: %d templates expected", what, count);
        Py_DECREF(f);
        return -1;
    }
    for (int k = 0; k < count; k++) {
        PyObject *t = PySequence_Fast(PySequence_Fast_GET_ITEM(f, k), what);
        if (!t) { Py_DECREF(f); return -1; }
        int ok = PySequence_Fast_GET_SIZE(t) == pieces;
        if (!ok) PyErr_Format(PyExc_ValueError, "%s: a template has %d pieces", what, pieces);
        for (int j = 0; ok && j < pieces; j++) {
            PyObject *piece = PySequence_Fast_GET_ITEM(t, j);
            ok = bytes_span(piece, &out[k * pieces + j], what) == 0 && PyList_Append(keep, piece) == 0;
        }
        Py_DECREF(t);
        if (!ok) { Py_DECREF(f); return -1; }
    }
    Py_DECREF(f);
    return 0;
}

static int int_list(PyObject *seq, int64_t *out, int max, const char *what) {
    PyObject *f = PySequence_Fast(seq, what);
    if (!f) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    if (n > max) {
        PyErr_Format(PyExc_ValueError, "%s: at most %d", what, max);
        Py_DECREF(f);
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        out[k] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(f, k));
        if (out[k] == -1 && PyErr_Occurred()) { Py_DECREF(f); return -1; }
    }
    Py_DECREF(f);
    return (int)n;
}

static int take_resting(phase_t *s, PyObject *seq) {
    PyObject *f = PySequence_Fast(seq, "resting: a sequence of (ClOrdID, shape, live)");
    if (!f) return -1;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(f); k++) {
        PyObject *t = PySequence_Fast_GET_ITEM(f, k);
        span_t cl;
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_TypeError, "resting: (ClOrdID, shape, live) tuples expected");
            goto bad;
        }
        if (bytes_span(PyTuple_GET_ITEM(t, 0), &cl, "resting ClOrdID") < 0) goto bad;
        long shape = PyLong_AsLong(PyTuple_GET_ITEM(t, 1));
        if (shape == -1 && PyErr_Occurred()) goto bad;
        int live = PyObject_IsTrue(PyTuple_GET_ITEM(t, 2));
        if (live < 0) goto bad;
        if (shape < 0 || shape >= s->nshapes) {
            PyErr_Format(PyExc_ValueError, "resting: shape %ld out of range", shape);
            goto bad;
        }
        if (!q_push(&s->q, cl.p, cl.n, (int)shape, live)) {
            if (errno == EEXIST) PyErr_Format(PyExc_ValueError, "resting: ClOrdID %R twice", PyTuple_GET_ITEM(t, 0));
            else PyErr_NoMemory();
            goto bad;
        }
    }
    Py_DECREF(f);
    return 0;
bad:
    Py_DECREF(f);
    return -1;
}

static PyObject *int_vec(const vec_t *v) {
    PyObject *l = PyList_New((Py_ssize_t)v->len);
    if (!l) return NULL;
    for (size_t k = 0; k < v->len; k++) {
        PyObject *x = PyLong_FromLongLong(v->p[k]);
        if (!x) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, (Py_ssize_t)k, x);
    }
    return l;
}

/* d[key] = v, v's reference consumed (v NULL: its error is set). */
static int set_item(PyObject *d, const char *key, PyObject *v) {
    if (!v) return -1;
    int r = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return r;
}

static PyObject *trace_list(const vec_t *v) {
    PyObject *l = PyList_New((Py_ssize_t)(v->len / 2));
    if (!l) return NULL;
    for (size_t k = 0; k < v->len / 2; k++) {
        PyObject *row = Py_BuildValue("(LL)", (long long)v->p[2 * k], (long long)v->p[2 * k + 1]);
        if (!row) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, (Py_ssize_t)k, row);
    }
    return l;
}

static PyObject *texts_dict(const phase_t *s) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (size_t k = 0; k < s->ntexts; k++) {
        PyObject *t = PyUnicode_DecodeLatin1(s->texts[k].p, (Py_ssize_t)s->texts[k].n, NULL);
        PyObject *c = PyLong_FromLongLong(s->texts[k].count);
        int r = t && c ? PyDict_SetItem(d, t, c) : -1;
        Py_XDECREF(t);
        Py_XDECREF(c);
        if (r < 0) { Py_DECREF(d); return NULL; }
    }
    return d;
}

/* The queue as [(ClOrdID, shape, live)] in d["resting"], the orders still awaiting their
 * first report as {ClOrdID: scheduled ns} in d["awaiting"]. */
static int queue_out(const phase_t *s, PyObject *d) {
    PyObject *resting = PyList_New(0);
    if (set_item(d, "resting", resting) < 0) return -1;
    PyObject *awaiting = PyDict_New();
    if (set_item(d, "awaiting", awaiting) < 0) return -1;
    for (size_t k = s->q.head; k < s->q.tail; k++) {  /* (both borrowed from d) */
        const entry_t *e = &s->q.e[k];
        PyObject *cl = PyBytes_FromStringAndSize(ent_cl(e), e->len);
        if (!cl) return -1;
        PyObject *row = Py_BuildValue("(OiO)", cl, (int)e->shape, e->live ? Py_True : Py_False);
        int r = row ? PyList_Append(resting, row) : -1;
        Py_XDECREF(row);
        if (r == 0 && e->awaiting) {
            PyObject *t = PyLong_FromLongLong(e->sched);
            r = t ? PyDict_SetItem(awaiting, cl, t) : -1;
            Py_XDECREF(t);
        }
        Py_DECREF(cl);
        if (r < 0) return -1;
    }
    return 0;
}

static PyObject *result(const phase_t *s) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    if (set_item(d, "sent", PyLong_FromLongLong(s->total)) < 0
        || set_item(d, "measured", PyLong_FromLongLong(s->total - s->measure_from)) < 0
        || set_item(d, "unanswered", PyLong_FromLongLong(s->awaiting)) < 0
        || set_item(d, "send_lag_at_end_us", PyFloat_FromDouble((double)s->late / 1e3)) < 0
        || set_item(d, "wakeups", PyLong_FromLongLong(s->wakeups)) < 0
        || set_item(d, "blocked_writes", PyLong_FromLongLong(s->blocked_writes)) < 0
        || set_item(d, "rejects", PyLong_FromLongLong(s->rejects)) < 0
        || set_item(d, "latency_ns", int_vec(&s->latency)) < 0
        || set_item(d, "from_write_ns", int_vec(&s->from_write)) < 0
        || set_item(d, "send_lag_ns", int_vec(&s->send_lag)) < 0
        || set_item(d, "to_arrival_ns", int_vec(&s->to_arrival)) < 0
        || set_item(d, "write_to_arrival_ns", int_vec(&s->write_to_arrival)) < 0
        || set_item(d, "read_lag_ns", int_vec(&s->read_lag)) < 0
        || set_item(d, "trace", trace_list(&s->trace_rows)) < 0
        || set_item(d, "fills", PyLong_FromLongLong(s->fills)) < 0
        || set_item(d, "cancels_sent", PyLong_FromLongLong(s->cancels_sent)) < 0
        || set_item(d, "cancel_acks", PyLong_FromLongLong(s->cancel_acks)) < 0
        || set_item(d, "cancel_rejects", PyLong_FromLongLong(s->cancel_rejects)) < 0
        || set_item(d, "reject_texts", texts_dict(s)) < 0
        || set_item(d, "seq", PyLong_FromLongLong(s->seq)) < 0
        || set_item(d, "n", PyLong_FromLongLong(s->n)) < 0
        || set_item(d, "prng", PyLong_FromUnsignedLongLong(s->prng)) < 0
        || set_item(d, "rest", PyBytes_FromStringAndSize(s->in.len ? s->in.p : "", (Py_ssize_t)s->in.len)) < 0
        || set_item(d, "unsent", PyBytes_FromStringAndSize(
               s->out.len ? s->out.p + s->out_off : "", (Py_ssize_t)(s->out.len - s->out_off))) < 0
        || queue_out(s, d) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *raise_error(phase_t *s, PyObject *garbled) {
    switch (s->err) {
    case E_NOMEM:
        return PyErr_NoMemory();
    case E_SIGNAL:
        return NULL;  /* (the handler's exception is set) */
    case E_CLOSED:
        if (s->err_errno) {
            errno = s->err_errno;
            PyErr_SetFromErrno(PyExc_ConnectionResetError);
            return NULL;
        }
        PyErr_SetString(PyExc_ConnectionResetError, "the peer closed the connection");
        return NULL;
    case E_VALUE:
        PyErr_SetString(PyExc_ValueError, s->err_what);
        return NULL;
    case E_GARBLED: {
        PyObject *frame = PyBytes_FromStringAndSize(s->err_frame ? s->err_frame : "", (Py_ssize_t)s->err_frame_n);
        if (frame) {
            PyErr_Format(garbled, "%s: %R", s->err_what, frame);
            Py_DECREF(frame);
        }
        return NULL;
    }
    default:
        errno = s->err_errno;
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, s->err_what);
        return NULL;
    }
}

static PyObject *latency_phase(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {
        "fd", "head", "orders", "cancels", "heartbeat", "prefix", "shapes", "refs", "lo", "hi",
        "max_resting", "seq", "n", "prng", "resting", "rest", "t0", "interval", "total",
        "measure_from", "drain", "trace", "max_frame", "garbled", NULL,
    };
    PyObject *head, *orders, *cancels, *heartbeat, *prefix, *shapes, *refs, *prng, *resting, *rest, *garbled;
    double drain;
    phase_t *s = calloc(1, sizeof *s);
    if (!s) return PyErr_NoMemory();
    s->ep = s->tfd = -1;
    s->utc_ms = s->utc_sec = -1;
    PyObject *res = NULL;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "|$iOOOOOOOddLLLOOOLdLLdpLO:latency_phase", kwlist, &s->fd, &head, &orders, &cancels,
            &heartbeat, &prefix, &shapes, &refs, &s->lo, &s->hi, &s->max_resting, &s->seq, &s->n, &prng,
            &resting, &rest, &s->t0, &s->interval, &s->total, &s->measure_from, &drain, &s->trace,
            &s->max_frame, &garbled))
        goto done;
    if (PyTuple_GET_SIZE(args) || !kw || PyDict_GET_SIZE(kw) != (Py_ssize_t)(sizeof kwlist / sizeof *kwlist - 1)) {
        PyErr_SetString(PyExc_TypeError, "latency_phase: every argument, by keyword");
        goto done;
    }
    if (!PyExceptionClass_Check(garbled)) {
        PyErr_SetString(PyExc_TypeError, "garbled: an exception class expected");
        goto done;
    }
    if (s->fd < 0 || !(s->interval > 0) || !isfinite(s->interval) || s->total < 0 || s->measure_from < 0
        || !(drain >= 0) || drain > 1e6 || s->max_frame <= 0 || s->max_resting < 0 || s->n < 0 || s->seq < 0
        || !(s->lo <= s->hi) || s->lo <= -1 || s->hi > 1e3) {
        PyErr_SetString(PyExc_ValueError, "latency_phase: argument out of range");
        goto done;
    }
    s->drain_ns = (int64_t)(drain * 1e9);
    s->prng = PyLong_AsUnsignedLongLongMask(prng);
    if (s->prng == (uint64_t)-1 && PyErr_Occurred()) goto done;
    int nrefs = int_list(refs, s->refs, NSHAPES_MAX, "refs");
    if (nrefs < 0) goto done;
    if (nrefs == 0) { PyErr_SetString(PyExc_ValueError, "refs: at least one shape"); goto done; }
    s->nshapes = nrefs;
    for (int k = 0; k < nrefs; k++)
        if (s->refs[k] <= 0 || s->refs[k] > ((int64_t)1 << 52)) { PyErr_SetString(PyExc_ValueError, "refs: out of range"); goto done; }
    int64_t sh[2];
    if (int_list(shapes, sh, 2, "shapes") != 2 || sh[0] < 0 || sh[0] >= nrefs || sh[1] < 0 || sh[1] >= nrefs) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "shapes: two shape indices expected");
        goto done;
    }
    s->shapes[0] = (int)sh[0];
    s->shapes[1] = (int)sh[1];
    if (!(s->keep = PyList_New(0))
        || templates(s->keep, orders, nrefs, ORDER_PIECES, &s->orders[0][0], "orders") < 0
        || templates(s->keep, cancels, nrefs, CANCEL_PIECES, &s->cancels[0][0], "cancels") < 0)
        goto done;
    PyObject *hb = PyTuple_Pack(1, heartbeat);
    int r = hb ? templates(s->keep, hb, 1, HEARTBEAT_PIECES, s->heartbeat, "heartbeat") : -1;
    Py_XDECREF(hb);
    span_t rest_span;
    if (r < 0 || bytes_span(head, &s->head, "head") < 0 || bytes_span(prefix, &s->prefix, "prefix") < 0
        || bytes_span(rest, &rest_span, "rest") < 0)
        goto done;
    if (s->prefix.n > 32) { PyErr_SetString(PyExc_ValueError, "prefix: at most 32 bytes"); goto done; }
    if (take_resting(s, resting) < 0) goto done;
    if (buf_put(&s->in, rest_span.p, rest_span.n) < 0) { PyErr_NoMemory(); goto done; }
    s->m0 = scheduled(s, s->measure_from);

    /* (head, prefix: held by the call's arguments; the template pieces: by s->keep) */
    s->save = PyEval_SaveThread();
    run(s);
    if (s->rx_stamped) {  /* (the socket goes back to the Python client as it came) */
        int off = 0;
        setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &off, sizeof off);
    }
    PyEval_RestoreThread(s->save);
    res = s->err ? raise_error(s, garbled) : result(s);
done:
    Py_XDECREF(s->keep);
    phase_free(s);
    free(s);
    return res;
}

static PyMethodDef methods[] = {
    {"latency_phase", (PyCFunction)(void (*)(void))latency_phase, METH_VARARGS | METH_KEYWORDS,
     "latency_phase(*, fd, ...) -> dict: one open-loop latency phase of the load client (see bench/_fixload.pyi)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_fixload", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fixload(void) { return PyModule_Create(&moduledef); }
