/* engine._book: price levels, balances, order lifecycle, matching, stop triggers, GTD heap. Included once by _book.c (one translation unit). */
#ifndef VENUE_ENGINE_BOOK_MATCH_H
#define VENUE_ENGINE_BOOK_MATCH_H

/* ------------------------------------------------------------------ books */
static inline i64 bkey(u32 side, i64 price) { return side == BUY ? price : -price; }
/* divisions skipped for the common unit tick/lot */
static inline i64 ticks_of(const Instrument *ins, i64 price) {
    return ins->tick == 1 ? price : price / ins->tick;
}
static inline i64 lots_of(const Instrument *ins, i64 qty) {
    return ins->lot == 1 ? qty : qty / ins->lot;
}


/* Position of key k in the sorted array, scanning from the best end: activity clusters near
 * the top of the book, and the memmove that follows costs the same distance anyway. */
static inline u32 book_pos(const Book *b, i64 k) {
    u32 pos = b->n;
    while (pos > 0 && b->key[pos - 1] > k) pos--;
    return pos;
}

/* O(1): per-instrument map (side, price) -> level */
static inline u32 level_find(Engine *e, u32 ii, u32 side, i64 price) {
    return map_get(&e->ins[ii].lmap, lkey(side, price));
}

static u32 level_get(Engine *e, u32 ii, u32 side, i64 price) {
    u32 found = level_find(e, ii, side, price);
    Book *b = &e->ins[ii].books[side];
    if (found != NIL) {
        if (e->levels[found].count == 0) b->live++;
        return found;
    }
    b->live++;
    i64 k = bkey(side, price);
    u32 pos = book_pos(b, k);
    u32 li = e->lfree;
    if (li == NIL) {
        GROW(e->levels, e->lcap, e->n_levels + 1, Level);
        li = e->n_levels++;
    } else {
        e->lfree = e->levels[li].head;
    }
    e->levels[li] = (Level){price, 0, 0, NIL, NIL};
    if (b->n + 1 > b->cap) {
        u32 nc = b->cap ? b->cap * 2 : 64;
        b->lv = xrealloc(b->lv, sizeof(u32) * nc);
        b->key = xrealloc(b->key, sizeof(i64) * nc);
        b->cap = nc;
    }
    if (pos < b->n) {
        memmove(b->lv + pos + 1, b->lv + pos, sizeof(u32) * (b->n - pos));
        memmove(b->key + pos + 1, b->key + pos, sizeof(i64) * (b->n - pos));
    }
    b->lv[pos] = li;
    b->key[pos] = k;
    b->n++;
    map_put(&e->ins[ii].lmap, lkey(side, price), li);
    return li;
}

static void level_free(Engine *e, u32 ii, u32 side, u32 li) {
    map_del(&e->ins[ii].lmap, lkey(side, e->levels[li].price));
    e->levels[li].head = e->lfree;
    e->lfree = li;
}

/* Drop empty levels lazily: an empty level stays in the array (and the map) so that a price
 * that comes back (the common "move" pattern) costs no memmove; empties at the best end are
 * popped at once, so the last entry is always the best non-empty level. Compaction when the
 * array exceeds 4 x live + 4096 entries keeps it O(live) under adversarial price patterns. */
#ifdef VENUE_ENGINE_DEBUG
#define COMPACT_SLACK 8 /* compact often so the debug build exercises it */
#else
#define COMPACT_SLACK 4096
#endif
static void level_drop(Engine *e, u32 ii, u32 side, u32 li) {
    Book *b = &e->ins[ii].books[side];
    b->live--;
    if (b->lv[b->n - 1] == li) {
        while (b->n && e->levels[b->lv[b->n - 1]].count == 0) level_free(e, ii, side, b->lv[--b->n]);
    } else if (b->n > 4 * b->live + COMPACT_SLACK) {
        u32 w = 0;
        for (u32 k = 0; k < b->n; k++) {
            if (e->levels[b->lv[k]].count == 0) { level_free(e, ii, side, b->lv[k]); continue; }
            b->lv[w] = b->lv[k];
            b->key[w++] = b->key[k];
        }
        b->n = w;
    }
}

static void fifo_append(Engine *e, u32 li, u32 oi) {
    Level *L = &e->levels[li];
    Order *o = &e->orders[oi];
    o->prev = L->tail;
    o->next = NIL;
    if (L->tail != NIL) e->orders[L->tail].next = oi; else L->head = oi;
    L->tail = oi;
    L->count++;
    L->total += o->visible;
    o->level = li;
}

static void fifo_unlink(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    Level *L = &e->levels[o->level];
    if (o->prev != NIL) e->orders[o->prev].next = o->next; else L->head = o->next;
    if (o->next != NIL) e->orders[o->next].prev = o->prev; else L->tail = o->prev;
    L->count--;
    L->total -= o->visible;
}

/* unlink from its level, drop the level if empty, touch it */
static void book_remove(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    u32 li = o->level;
    fifo_unlink(e, oi);
    touch(e, o->ins, o->side, o->price);
    if (e->levels[li].count == 0) level_drop(e, o->ins, o->side, li);
    o->where = W_NONE;
}

static void book_rest(Engine *e, u32 ii, u32 oi) {
    Order *o = &e->orders[oi];
    o->visible = o->display ? min64(o->display, o->leaves) : o->leaves;
    u32 li = level_get(e, ii, o->side, o->price);
    fifo_append(e, li, oi);
    o->where = W_BOOK;
    touch(e, ii, o->side, o->price);
}

/* ------------------------------------------------------------------ balances, accounts */
static u32 bal_get(Engine *e, u32 ai, u64 asset) {
    u64 key = ((u64)ai << 32) | asset;
    u32 bi = map_get(&e->bmap, key);
    if (bi != NIL) return bi;
    GROW(e->bal, e->bal_cap, e->n_bal + 1, Balance);
    bi = e->n_bal++;
    e->bal[bi] = (Balance){0, 0, ai, e->acc[ai].bal_head, asset};
    e->acc[ai].bal_head = bi;
    map_put(&e->bmap, key, bi);
    return bi;
}

static u32 supply_get(Engine *e, u64 asset) {
    u32 si = map_get(&e->smap, asset);
    if (si != NIL) return si;
    GROW(e->supply, e->sup_cap, e->n_sup + 1, i64);
    si = e->n_sup++;
    e->supply[si] = 0;
    map_put(&e->smap, asset, si);
    return si;
}

static u32 account_add(Engine *e, u64 id, u64 group, i64 maker, i64 taker) {
    GROW(e->acc, e->acc_cap, e->n_acc + 1, Account);
    u32 ai = e->n_acc++;
    e->acc[ai] = (Account){id, group, maker, taker, NIL};
    map_put(&e->amap, id, ai);
    return ai;
}

static inline i64 hold_of(const Engine *e, const Order *o) {
    return o->side == BUY ? lots_of(&e->ins[o->ins], o->leaves) * o->hpl : o->leaves;
}

/* quote per lot and hold for `leaves`; RJ_OVERFLOW when any product leaves 64 bits */
static int hold_terms(const Instrument *ins, const Account *a, u32 side, i64 price, i64 leaves,
                      i64 *hpl, i64 *need) {
    i128 v = (i128)ticks_of(ins, price) * ins->tick_value;
    if (v > I64MAX) return RJ_OVERFLOW;
    i64 bps = a->maker > a->taker ? a->maker : a->taker;
    i128 h = v + ceil_bps(v, bps);
    if (h > I64MAX) return RJ_OVERFLOW;
    i128 total = (i128)lots_of(ins, leaves) * h;
    if (total > I64MAX) return RJ_OVERFLOW;
    *hpl = (i64)h;
    *need = side == BUY ? (i64)total : leaves;
    return 0;
}

static inline int same_party(const Engine *e, const Order *a, const Order *b) {
    if (a->acct == b->acct) return 1;
    u64 g = e->acc[a->acct].group;
    return g != 0 && g == e->acc[b->acct].group;
}

/* ------------------------------------------------------------------ order lifecycle */
static u32 order_alloc(Engine *e) {
    u32 oi = e->ofree;
    if (oi == NIL) {
        u32 old = e->ocap, nc = old ? old * 2 : 1024;
        if (old >= (1u << 30)) venue_engine_oom();
        e->orders = xrealloc(e->orders, sizeof(Order) * nc);
        for (u32 k = old; k < nc; k++) {
            e->orders[k].next = k + 1 < nc ? k + 1 : NIL;
            e->orders[k].serial = 0;
        }
        e->ocap = nc;
        oi = old;
    }
    e->ofree = e->orders[oi].next;
    return oi;
}

static void accept_link(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    o->aprev = e->atail;
    o->anext = NIL;
    if (e->atail != NIL) e->orders[e->atail].anext = oi; else e->ahead = oi;
    e->atail = oi;
    e->n_orders++;
    map_put(&e->omap, o->id, oi);
}

static void order_free(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    map_del(&e->omap, o->id);
    if (o->aprev != NIL) e->orders[o->aprev].anext = o->anext; else e->ahead = o->anext;
    if (o->anext != NIL) e->orders[o->anext].aprev = o->aprev; else e->atail = o->aprev;
    e->n_orders--;
    o->serial = 0;
    o->next = e->ofree;
    e->ofree = oi;
}

static void stop_unlink(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    Instrument *ins = &e->ins[o->ins];
    if (o->prev != NIL) e->orders[o->prev].next = o->next; else ins->stop_head[o->side] = o->next;
    if (o->next != NIL) e->orders[o->next].prev = o->prev;
    o->where = W_NONE;
}

static void stop_insert(Engine *e, u32 oi) {
    Order *o = &e->orders[oi];
    Instrument *ins = &e->ins[o->ins];
    u32 prev = NIL, cur = ins->stop_head[o->side];
    while (cur != NIL) {
        i64 s = e->orders[cur].stop;
        if (o->side == BUY ? s > o->stop : s < o->stop) break;
        prev = cur;
        cur = e->orders[cur].next;
    }
    o->prev = prev;
    o->next = cur;
    if (prev != NIL) e->orders[prev].next = oi; else ins->stop_head[o->side] = oi;
    if (cur != NIL) e->orders[cur].prev = oi;
    o->where = W_STOPS;
}

/* take a live order out entirely, release its hold, emit canceled/expired, free it */
static void order_remove(Engine *e, u32 oi, i64 reason, u32 evtype) {
    Order *o = &e->orders[oi];
    if (o->where == W_BOOK) book_remove(e, oi);
    else if (o->where == W_STOPS) stop_unlink(e, oi);
    i64 h = hold_of(e, o);
    e->bal[o->bal_hold].avail += h;
    e->bal[o->bal_hold].held -= h;
    u64 w[5] = {o->id, o->account, (u64)reason, (u64)o->leaves, 0};
    o->leaves = 0;
    emit(e, evtype, e->ins[o->ins].id, w);
    order_free(e, oi);
}

/* STP decrement: cancel q of the order; returns 1 when that removed it */
static int order_decrement(Engine *e, u32 oi, i64 q) {
    Order *o = &e->orders[oi];
    if (q == o->leaves) {
        order_remove(e, oi, CR_SELF_TRADE, E_CANCELED);
        return 1;
    }
    i64 rel = o->side == BUY ? lots_of(&e->ins[o->ins], q) * o->hpl : q;
    e->bal[o->bal_hold].avail += rel;
    e->bal[o->bal_hold].held -= rel;
    i64 oldv = o->visible;
    o->leaves -= q;
    o->visible = min64(o->visible, o->leaves);
    if (o->where == W_BOOK) {
        e->levels[o->level].total -= oldv - o->visible;
        touch(e, o->ins, o->side, o->price);
    }
    u64 w[5] = {o->id, o->account, CR_SELF_TRADE, (u64)q, (u64)o->leaves};
    emit(e, E_CANCELED, e->ins[o->ins].id, w);
    return 0;
}

/* ------------------------------------------------------------------ matching */
static void fill(Engine *e, u32 ii, u32 mi, u32 ti, i64 q) {
    Instrument *ins = &e->ins[ii];
    Order *m = &e->orders[mi], *t = &e->orders[ti];
    i64 lots = lots_of(ins, q);
    i64 value = ticks_of(ins, m->price) * lots * ins->tick_value;
    i64 fee_m = ceil_bps(value, e->acc[m->acct].maker);
    i64 fee_t = ceil_bps(value, e->acc[t->acct].taker);
    Order *buyer = t->side == BUY ? t : m, *seller = t->side == BUY ? m : t;
    i64 fee_b = t->side == BUY ? fee_t : fee_m, fee_s = t->side == BUY ? fee_m : fee_t;
    i64 bh = lots * buyer->hpl;
    e->bal[buyer->bal_hold].held -= bh;
    e->bal[buyer->bal_hold].avail += bh - value - fee_b;
    e->bal[buyer->bal_recv].avail += q;
    e->bal[seller->bal_hold].held -= q;
    e->bal[seller->bal_recv].avail += value - fee_s;
    e->bal[ins->fee_bal].avail += fee_m + fee_t;
    Level *L = &e->levels[m->level];
    m->leaves -= q;
    m->visible -= q;
    m->cum += q;
    L->total -= q;
    t->leaves -= q;
    t->cum += q;
    ins->last = m->price;
    u64 w[12] = {e->next_exec++, m->id, t->id, m->account, t->account, (u64)m->price, (u64)q,
                 (u64)fee_m, (u64)fee_t, (u64)m->leaves, (u64)t->leaves, t->side};
    emit(e, E_TRADE, ins->id, w);
    touch(e, ii, m->side, m->price);
    if (m->leaves == 0) {
        u32 li = m->level;
        fifo_unlink(e, mi);
        if (e->levels[li].count == 0) level_drop(e, ii, m->side, li);
        order_free(e, mi);
    } else if (m->visible == 0) { /* iceberg refresh: back of the queue */
        fifo_unlink(e, mi);
        m->visible = min64(m->display, m->leaves);
        fifo_append(e, m->level, mi);
    }
}

static inline int crosses_level(u32 side, i64 lvl_price, i64 limit) {
    return side == BUY ? lvl_price <= limit : lvl_price >= limit;
}

static int fok_ok(Engine *e, u32 ii, u32 oi) {
    Order *o = &e->orders[oi];
    Book *b = &e->ins[ii].books[1 - o->side];
    i64 need = o->leaves;
    for (u32 k = b->n; k-- > 0;) {
        Level *L = &e->levels[b->lv[k]];
        if (!crosses_level(o->side, L->price, o->price)) break;
        i64 sum = 0;
        for (u32 x = L->head; x != NIL; x = e->orders[x].next) {
            if (o->stp && same_party(e, &e->orders[x], o)) return 0;
            sum += e->orders[x].leaves;
        }
        need -= sum;
        if (need <= 0) return 1;
    }
    return 0;
}

/* returns 1 when the taker was removed (self-trade prevention) */
static int match(Engine *e, u32 ii, u32 oi) {
    for (;;) {
        Order *o = &e->orders[oi];
        Book *b = &e->ins[ii].books[1 - o->side];
        if (o->leaves <= 0 || b->n == 0) return 0;
        Level *L = &e->levels[b->lv[b->n - 1]];
        if (!crosses_level(o->side, L->price, o->price)) return 0;
        u32 mi = L->head;
        Order *m = &e->orders[mi];
        if (o->stp && same_party(e, m, o)) {
            switch (o->stp) {
            case 1:
                order_remove(e, oi, CR_SELF_TRADE, E_CANCELED);
                return 1;
            case 2:
                order_remove(e, mi, CR_SELF_TRADE, E_CANCELED);
                break;
            case 3:
                order_remove(e, mi, CR_SELF_TRADE, E_CANCELED);
                order_remove(e, oi, CR_SELF_TRADE, E_CANCELED);
                return 1;
            default: {
                i64 q = min64(o->leaves, m->leaves);
                order_decrement(e, mi, q);
                if (order_decrement(e, oi, q)) return 1;
            }
            }
            continue;
        }
        fill(e, ii, mi, oi, min64(o->leaves, m->visible));
    }
}

static void execute(Engine *e, u32 ii, u32 oi) {
    if (e->orders[oi].tif == TIF_FOK && !fok_ok(e, ii, oi)) {
        order_remove(e, oi, CR_FOK_UNFILLABLE, E_CANCELED);
        return;
    }
    if (match(e, ii, oi)) return;
    Order *o = &e->orders[oi];
    if (o->leaves == 0) order_free(e, oi);
    else if (o->type == T_MARKET || o->type == T_STOP || o->tif == TIF_IOC || o->tif == TIF_FOK)
        order_remove(e, oi, CR_IOC_REMAINDER, E_CANCELED);
    else book_rest(e, ii, oi);
}

static void triggers(Engine *e, u32 ii) {
    for (;;) {
        Instrument *ins = &e->ins[ii];
        if (ins->last <= 0) return;
        u32 cand = NIL, b = ins->stop_head[BUY], s = ins->stop_head[SELL];
        if (b != NIL && ins->last >= e->orders[b].stop) cand = b;
        if (s != NIL && ins->last <= e->orders[s].stop &&
            (cand == NIL || e->orders[s].serial < e->orders[cand].serial))
            cand = s;
        if (cand == NIL) return;
        stop_unlink(e, cand);
        Order *o = &e->orders[cand];
        o->state = S_ACTIVE;
        u64 w[4] = {o->id, o->account, (u64)o->stop, (u64)ins->last};
        emit(e, E_TRIGGERED, ins->id, w);
        execute(e, ii, cand);
    }
}

/* ------------------------------------------------------------------ GTD heap */
static inline int heap_less(const HeapItem *a, const HeapItem *b) {
    return a->expire < b->expire || (a->expire == b->expire && a->serial < b->serial);
}

static void heap_sift_down(HeapItem *h, u32 n, u32 i) {
    for (;;) {
        u32 l = 2 * i + 1, r = l + 1, s = i;
        if (l < n && heap_less(&h[l], &h[s])) s = l;
        if (r < n && heap_less(&h[r], &h[s])) s = r;
        if (s == i) return;
        HeapItem t = h[i]; h[i] = h[s]; h[s] = t;
        i = s;
    }
}

static void heap_push_raw(Engine *e, HeapItem it) {
    GROW(e->heap, e->hcap, e->hn + 1, HeapItem);
    u32 i = e->hn++;
    e->heap[i] = it;
    while (i > 0) {
        u32 p = (i - 1) / 2;
        if (!heap_less(&e->heap[i], &e->heap[p])) break;
        HeapItem t = e->heap[i]; e->heap[i] = e->heap[p]; e->heap[p] = t;
        i = p;
    }
}

static void heap_rebuild(Engine *e) { /* drop stale entries (canceled/filled orders) */
    u32 n = 0;
    for (u32 k = 0; k < e->hn; k++)
        if (e->orders[e->heap[k].slot].serial == e->heap[k].serial) e->heap[n++] = e->heap[k];
    e->hn = n;
    for (u32 k = n / 2; k-- > 0;) heap_sift_down(e->heap, n, k);
}

static void heap_push(Engine *e, u32 oi) {
    if (e->hn > 2 * e->n_orders + 1024) heap_rebuild(e);
    heap_push_raw(e, (HeapItem){e->orders[oi].expire, e->orders[oi].serial, oi});
}

static void expire_gtd(Engine *e) {
    while (e->hn && e->heap[0].expire <= e->clock) {
        HeapItem it = e->heap[0];
        e->heap[0] = e->heap[--e->hn];
        heap_sift_down(e->heap, e->hn, 0);
        if (e->orders[it.slot].serial == it.serial)
            order_remove(e, it.slot, CR_GTD_EXPIRED, E_EXPIRED);
    }
}


#endif
