/* engine._book: types, the Engine struct, event emission and touched-level tracking. Included once by _book.c (one translation unit). */
#ifndef VENUE_ENGINE_BOOK_TYPES_H
#define VENUE_ENGINE_BOOK_TYPES_H

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "engine._book assumes a little-endian host"
#endif

typedef int64_t i64;
typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;
typedef __int128 i128;

#define I64MAX INT64_MAX
#define U32MAX 0xFFFFFFFFull
#define CMD_SIZE 104
#define FEE_ACCOUNT 0

enum { C_ADD_INSTRUMENT = 1, C_SET_TRADING_STATE, C_SET_REFERENCE_PRICE, C_ADD_ACCOUNT, C_DEPOSIT,
       C_WITHDRAW_HOLD, C_WITHDRAW_CONFIRM, C_WITHDRAW_RELEASE, C_NEW_ORDER, C_CANCEL, C_REPLACE,
       C_MASS_CANCEL, C_ORDER_STATUS, C_END_OF_SESSION, C_ADVANCE_CLOCK };
enum { E_ACCEPTED = 1, E_REJECTED, E_TRADE, E_CANCELED, E_REPLACED, E_EXPIRED, E_TRIGGERED,
       E_BOOK, E_DEPOSITED, E_WITHDRAW_HELD, E_WITHDRAW_CONFIRMED, E_WITHDRAW_RELEASED,
       E_STATUS, E_MASS_CANCELED, E_ACK };
enum { T_MARKET = 0, T_LIMIT, T_STOP, T_STOP_LIMIT };
enum { TIF_DAY = 0, TIF_GTC, TIF_IOC, TIF_FOK, TIF_GTD };
enum { BUY = 0, SELL = 1 };
enum { W_NONE = 0, W_BOOK, W_STOPS };
enum { S_ACTIVE = 0, S_STOP_PENDING = 1 };
#define FLAG_POST_ONLY 1

typedef struct {
    u64 id, account, serial;
    i64 price, stop, qty, leaves, visible, display, cum, expire, hpl;
    u32 prev, next;   /* level FIFO or stop list */
    u32 aprev, anext; /* accept-order list */
    u32 level, ins, acct, bal_hold, bal_recv;
    u8 side, type, tif, flags, stp, state, where;
} Order;

typedef struct { i64 price, total; u32 count, head, tail; } Level;
/* sorted ascending by key, best level last; key = price (bids) or -price (asks); may hold empty
 * levels (count 0) anywhere but at the end, see level_drop */
typedef struct { u32 *lv; i64 *key; u32 n, cap, live; } Book;

typedef struct {
    u64 id, base, quote;
    i64 tick, lot, min_qty, max_qty, tick_value, band, ref, last;
    i64 price_scale, qty_scale, state;
    i64 band_lo, band_hi; /* limit-price band, recomputed when the reference price changes */
    u32 fee_bal;
    Book books[2];
    u32 stop_head[2];
    Map lmap; /* lkey(side, price) -> level */
    Map tmap; /* levels touched by the current command, when many (see touch) */
} Instrument;

typedef struct { u64 id, group; i64 maker, taker; u32 bal_head; } Account;
typedef struct { i64 avail, held; u32 acct, next; u64 asset; } Balance;
typedef struct { u64 id; u32 acct, bal, live; i64 amount; } Withdrawal;
typedef struct { i64 expire; u64 serial; u32 slot; } HeapItem;
typedef struct { u32 ins; u32 side; i64 price; } Touch;

typedef struct {
    PyObject_HEAD
    i64 clock;
    u64 next_exec, next_serial, seq;
    Order *orders; u32 ocap, ofree, ahead, atail, n_orders; Map omap;
    Level *levels; u32 lcap, lfree, n_levels;
    Instrument *ins; u32 n_ins, ins_cap; Map imap;
    Account *acc; u32 n_acc, acc_cap; Map amap;
    Balance *bal; u32 n_bal, bal_cap; Map bmap;
    Withdrawal *wd; u32 n_wd, wd_cap, wfree; Map wmap;
    i64 *supply; u32 n_sup, sup_cap; Map smap;
    HeapItem *heap; u32 hn, hcap;
    u8 *out; size_t olen, outcap;
    Touch *touch; u32 ntouch, tcap, touch_mapped;
    int busy;
    char err[160];
} Engine;

void venue_engine_oom(void) { Py_FatalError("engine._book: out of memory"); }

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) venue_engine_oom();
    return q;
}
#define GROW(ptr, cap, need, type)                                              \
    do {                                                                        \
        if ((need) > (cap)) {                                                   \
            u32 nc_ = (cap) ? (cap) : 16;                                       \
            while (nc_ < (need)) nc_ *= 2;                                      \
            (ptr) = (type *)xrealloc((ptr), sizeof(type) * (size_t)nc_);        \
            (cap) = nc_;                                                        \
        }                                                                       \
    } while (0)

static inline u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }
static inline i64 rdi(const u8 *p) { i64 v; memcpy(&v, p, 8); return v; }
#define SLOT(rec, k) rd64((rec) + 24 + 8 * (k))
#define SLOTI(rec, k) rdi((rec) + 24 + 8 * (k))
static inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }
/* exact map key for (side, price): prices are positive, bit 63 is free */
static inline u64 lkey(u32 side, i64 price) { return (u64)price ^ ((u64)side << 63); }
static inline i64 ceil_bps(i128 value, i64 bps) {
    if (value < ((i128)1 << 49)) { /* value * bps (<= 10000) + 9999 fits in 63 bits */
        i64 v = (i64)value * bps;
        return v ? (v + 9999) / 10000 : 0;
    }
    return (i64)((value * bps + 9999) / 10000);
}

/* ------------------------------------------------------------------ events */
static const u32 EV_WORDS[16] = {0, 8, 4, 12, 5, 6, 5, 4, 4, 4, 6, 6, 6, 8, 3, 3};

static void out_grow(Engine *e, size_t size) {
    size_t nc = e->outcap ? e->outcap * 2 : 1 << 16;
    while (nc < e->olen + size) nc *= 2;
    e->out = xrealloc(e->out, nc);
    e->outcap = nc;
}

/* always inlined: with a constant type the word count is constant and memcpy is inlined */
static inline __attribute__((always_inline)) void emit(Engine *e, u32 type, u64 ins,
                                                       const u64 *w) {
    u32 n = EV_WORDS[type], size = 16 + 8 * n;
    if (__builtin_expect(e->olen + size > e->outcap, 0)) out_grow(e, size);
    u8 *p = e->out + e->olen;
    uint16_t h[2] = {(uint16_t)type, (uint16_t)size};
    u32 ins32 = (u32)ins;
    memcpy(p, h, 4);
    memcpy(p + 4, &ins32, 4);
    memcpy(p + 8, &e->seq, 8);
    memcpy(p + 16, w, 8 * n);
    e->olen += size;
}

/* Remember a level touched by the current command (one BookLevelChanged per level at the end,
 * in first-touch order). Linear dedupe for the usual handful; past TOUCH_LINEAR entries a
 * per-instrument map keeps big sweeps O(1) per level. */
#define TOUCH_LINEAR 16
static void touch(Engine *e, u32 ii, u32 side, i64 price) {
    if (!e->touch_mapped) {
        for (u32 k = 0; k < e->ntouch; k++)
            if (e->touch[k].price == price && e->touch[k].ins == ii && e->touch[k].side == side)
                return;
        if (e->ntouch >= TOUCH_LINEAR) {
            for (u32 k = 0; k < e->ntouch; k++)
                map_put(&e->ins[e->touch[k].ins].tmap, lkey(e->touch[k].side, e->touch[k].price), k);
            e->touch_mapped = 1;
        }
    }
    if (e->touch_mapped) {
        Map *m = &e->ins[ii].tmap;
        if (map_get(m, lkey(side, price)) != NIL) return;
        map_put(m, lkey(side, price), e->ntouch);
    }
    GROW(e->touch, e->tcap, e->ntouch + 1, Touch);
    e->touch[e->ntouch++] = (Touch){ii, side, price};
}


#endif
