/* Canonical state (hash + snapshot), restore, and the internal-invariant checker of
 * engine._book. Included once by _book.c. The word order is normative and documented in
 * engine/canonical.py; engine/reference.py emits the same words. */

typedef struct { u64 *w; size_t n, cap; } Words;
typedef struct { u64 key; u32 idx; } KeyIdx;

static void wpush(Words *w, u64 v) {
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 1024;
        w->w = xrealloc(w->w, sizeof(u64) * w->cap);
    }
    w->w[w->n++] = v;
}

static int cmp_keyidx(const void *a, const void *b) {
    u64 x = ((const KeyIdx *)a)->key, y = ((const KeyIdx *)b)->key;
    return x < y ? -1 : x > y;
}

static KeyIdx *sorted_keys(u32 n, u64 (*key)(Engine *, u32), Engine *e) {
    KeyIdx *k = xrealloc(NULL, sizeof(KeyIdx) * (n ? n : 1));
    for (u32 i = 0; i < n; i++) k[i] = (KeyIdx){key(e, i), i};
    qsort(k, n, sizeof(KeyIdx), cmp_keyidx);
    return k;
}
static u64 ins_key(Engine *e, u32 i) { return e->ins[i].id; }
static u64 acc_key(Engine *e, u32 i) { return e->acc[i].id; }

static void canonical(Engine *e, Words *w) {
    wpush(w, 1);
    wpush(w, (u64)e->clock);
    wpush(w, e->next_exec);
    wpush(w, e->next_serial);
    wpush(w, e->n_ins);
    KeyIdx *ik = sorted_keys(e->n_ins, ins_key, e);
    for (u32 x = 0; x < e->n_ins; x++) {
        Instrument *i = &e->ins[ik[x].idx];
        u64 cfg[14] = {i->id, (u64)i->tick, (u64)i->lot, (u64)i->min_qty, (u64)i->max_qty,
                       (u64)i->price_scale, (u64)i->qty_scale, i->base, i->quote,
                       (u64)i->tick_value, (u64)i->band, (u64)i->ref, (u64)i->state,
                       (u64)i->last};
        for (int k = 0; k < 14; k++) wpush(w, cfg[k]);
        for (int side = 0; side < 2; side++) {
            Book *b = &i->books[side];
            wpush(w, b->live);
            for (u32 k = b->n; k-- > 0;) {
                Level *L = &e->levels[b->lv[k]];
                if (L->count == 0) continue;
                wpush(w, (u64)L->price);
                wpush(w, L->count);
                wpush(w, (u64)L->total);
                for (u32 o = L->head; o != NIL; o = e->orders[o].next) wpush(w, e->orders[o].id);
            }
        }
        for (int side = 0; side < 2; side++) {
            u64 n = 0;
            for (u32 o = i->stop_head[side]; o != NIL; o = e->orders[o].next) n++;
            wpush(w, n);
            for (u32 o = i->stop_head[side]; o != NIL; o = e->orders[o].next)
                wpush(w, e->orders[o].id);
        }
    }
    free(ik);
    wpush(w, e->n_orders);
    for (u32 oi = e->ahead; oi != NIL; oi = e->orders[oi].anext) {
        Order *o = &e->orders[oi];
        u64 f[18] = {o->id, o->account, e->ins[o->ins].id, o->side, o->type, o->tif, o->flags,
                     o->stp, (u64)o->price, (u64)o->stop, (u64)o->qty, (u64)o->leaves,
                     (u64)o->visible, (u64)o->display, (u64)o->cum, (u64)o->expire, o->serial,
                     o->state};
        for (int k = 0; k < 18; k++) wpush(w, f[k]);
    }
    wpush(w, e->n_acc);
    KeyIdx *ak = sorted_keys(e->n_acc, acc_key, e);
    KeyIdx *bk = NULL;
    u32 bcap = 0;
    for (u32 x = 0; x < e->n_acc; x++) {
        Account *a = &e->acc[ak[x].idx];
        wpush(w, a->id);
        wpush(w, a->group);
        wpush(w, (u64)a->maker);
        wpush(w, (u64)a->taker);
        u32 nb = 0;
        for (u32 bi = a->bal_head; bi != NIL; bi = e->bal[bi].next) {
            if (!e->bal[bi].avail && !e->bal[bi].held) continue;
            GROW(bk, bcap, nb + 1, KeyIdx);
            bk[nb++] = (KeyIdx){e->bal[bi].asset, bi};
        }
        if (nb) qsort(bk, nb, sizeof(KeyIdx), cmp_keyidx);
        wpush(w, nb);
        for (u32 k = 0; k < nb; k++) {
            wpush(w, bk[k].key);
            wpush(w, (u64)e->bal[bk[k].idx].avail);
            wpush(w, (u64)e->bal[bk[k].idx].held);
        }
    }
    free(ak);
    u32 nw = 0;
    for (u32 k = 0; k < e->n_wd; k++) {
        if (!e->wd[k].live) continue;
        GROW(bk, bcap, nw + 1, KeyIdx);
        bk[nw++] = (KeyIdx){e->wd[k].id, k};
    }
    if (nw) qsort(bk, nw, sizeof(KeyIdx), cmp_keyidx);
    wpush(w, nw);
    for (u32 k = 0; k < nw; k++) {
        Withdrawal *d = &e->wd[bk[k].idx];
        wpush(w, d->id);
        wpush(w, e->acc[d->acct].id);
        wpush(w, e->bal[d->bal].asset);
        wpush(w, (u64)d->amount);
    }
    free(bk);
}

/* ------------------------------------------------------------------ restore */
typedef struct { const u64 *w; size_t n, i; int bad; } Rd;
static u64 rd_u(Rd *r) {
    if (r->i >= r->n) { r->bad = 1; return 0; }
    return r->w[r->i++];
}
static u64 rd_count(Rd *r) {
    u64 v = rd_u(r);
    if (v > r->n - r->i) { r->bad = 1; return 0; }
    return v;
}
#define FAIL(msg) do { return (msg); } while (0)
#define CHECK(r) do { if ((r)->bad) FAIL("truncated or malformed"); } while (0)

static const char *skip_instruments(Rd *r, u64 n) {
    for (u64 k = 0; k < n && !r->bad; k++) {
        r->i += 14;
        if (r->i > r->n) FAIL("truncated instrument");
        for (int s = 0; s < 2; s++) {
            u64 nl = rd_count(r);
            for (u64 l = 0; l < nl && !r->bad; l++) {
                rd_u(r); u64 cnt = rd_u(r); rd_u(r);
                if (cnt > r->n - r->i) r->bad = 1; else r->i += cnt;
            }
        }
        for (int s = 0; s < 2; s++) {
            u64 cnt = rd_count(r);
            r->i += cnt;
        }
    }
    CHECK(r);
    return NULL;
}

static const char *load(Engine *e, const u64 *words, size_t n) {
    Rd r = {words, n, 0, 0};
    if (rd_u(&r) != 1) FAIL("unsupported version");
    e->clock = (i64)rd_u(&r);
    e->next_exec = rd_u(&r);
    e->next_serial = rd_u(&r);
    u64 n_ins = rd_count(&r);
    size_t ins_pos = r.i;
    const char *err = skip_instruments(&r, n_ins);
    if (err) return err;
    u64 n_orders = rd_count(&r);
    size_t ord_pos = r.i;
    if (n_orders > (r.n - r.i) / 18) FAIL("truncated orders");
    r.i += 18 * n_orders;
    u64 n_acc = rd_count(&r);
    for (u64 k = 0; k < n_acc && !r.bad; k++) {
        u64 id = rd_u(&r), group = rd_u(&r);
        i64 maker = (i64)rd_u(&r), taker = (i64)rd_u(&r);
        if (map_get(&e->amap, id) != NIL) FAIL("duplicate account");
        if (maker < 0 || maker > 10000 || taker < 0 || taker > 10000) FAIL("bad fee");
        u32 ai = account_add(e, id, group, maker, taker);
        u64 nb = rd_count(&r);
        for (u64 b = 0; b < nb && !r.bad; b++) {
            u64 asset = rd_u(&r);
            i64 av = (i64)rd_u(&r), held = (i64)rd_u(&r);
            if (asset > U32MAX || map_get(&e->bmap, ((u64)ai << 32) | asset) != NIL)
                FAIL("bad balance asset");
            if (av < 0 || held < 0) FAIL("negative balance");
            u32 bi = bal_get(e, ai, asset);
            e->bal[bi].avail = av;
            e->bal[bi].held = held;
            u32 si = supply_get(e, asset);
            if (e->supply[si] > I64MAX - av || e->supply[si] + av > I64MAX - held)
                FAIL("supply overflow");
            e->supply[si] += av + held;
        }
    }
    CHECK(&r);
    u64 n_wd = rd_count(&r);
    for (u64 k = 0; k < n_wd && !r.bad; k++) {
        u64 wid = rd_u(&r), aid = rd_u(&r), asset = rd_u(&r);
        i64 amount = (i64)rd_u(&r);
        u32 ai = map_get(&e->amap, aid);
        if (r.bad || ai == NIL || asset > U32MAX || amount <= 0) FAIL("bad withdrawal");
        if (map_get(&e->wmap, wid) != NIL) FAIL("duplicate withdrawal");
        GROW(e->wd, e->wd_cap, e->n_wd + 1, Withdrawal);
        u32 wi = e->n_wd++;
        e->wd[wi] = (Withdrawal){wid, ai, bal_get(e, ai, asset), 1, amount};
        map_put(&e->wmap, wid, wi);
    }
    CHECK(&r);
    if (r.i != r.n) FAIL("trailing words");
    if (map_get(&e->amap, FEE_ACCOUNT) == NIL) FAIL("fee account missing");
    /* instruments */
    r.i = ins_pos;
    for (u64 k = 0; k < n_ins; k++) {
        u8 rec[CMD_SIZE] = {0};
        const u64 *c = r.w + r.i;
        u64 slots[10] = {c[0], c[1], c[2], c[3], c[4], c[7], c[8], c[9], c[10], c[11]};
        if (c[5] > 18 || c[6] > 18) FAIL("bad scale");
        rec[2] = (u8)c[5];
        rec[3] = (u8)c[6];
        memcpy(rec + 24, slots, sizeof slots);
        size_t before = e->olen;
        if (cmd_add_instrument(e, rec)) FAIL("bad instrument");
        e->olen = before; /* drop the ack */
        Instrument *ins = &e->ins[e->n_ins - 1];
        ins->state = (i64)c[12];
        ins->last = (i64)c[13];
        if (ins->state < 0 || ins->state > 2 || ins->last < 0) FAIL("bad instrument state");
        r.i += 14;
        for (int s = 0; s < 2; s++) { /* books are linked after the orders exist */
            u64 nl = rd_u(&r);
            for (u64 l = 0; l < nl; l++) { rd_u(&r); u64 cnt = rd_u(&r); rd_u(&r); r.i += cnt; }
        }
        for (int s = 0; s < 2; s++) r.i += rd_u(&r);
    }
    /* orders */
    r.i = ord_pos;
    for (u64 k = 0; k < n_orders; k++) {
        const u64 *f = r.w + r.i;
        r.i += 18;
        u32 ai = map_get(&e->amap, f[1]), ii = ins_find(e, f[2]);
        if (ai == NIL || ii == NIL) FAIL("order refers to unknown account/instrument");
        if (f[0] == 0 || map_get(&e->omap, f[0]) != NIL) FAIL("bad or duplicate order id");
        if (f[3] > 1 || f[4] > 3 || f[5] > 4 || f[6] > 1 || f[7] > 4 || f[17] > 1)
            FAIL("bad order enum");
        i64 price = (i64)f[8], leaves = (i64)f[11];
        Instrument *ins = &e->ins[ii];
        if (price <= 0 || leaves <= 0 || leaves % ins->lot || (i64)f[14] < 0) FAIL("bad order qty");
        i64 hpl, need;
        if (hold_terms(ins, &e->acc[ai], (u32)f[3], price, leaves, &hpl, &need))
            FAIL("order hold overflows");
        u32 bh = bal_get(e, ai, f[3] == BUY ? ins->quote : ins->base);
        u32 br = bal_get(e, ai, f[3] == BUY ? ins->base : ins->quote);
        u32 oi = order_alloc(e);
        e->orders[oi] = (Order){.id = f[0], .account = f[1], .serial = f[16], .price = price,
            .stop = (i64)f[9], .qty = (i64)f[10], .leaves = leaves, .visible = (i64)f[12],
            .display = (i64)f[13], .cum = (i64)f[14], .expire = (i64)f[15], .hpl = hpl,
            .prev = NIL, .next = NIL, .level = NIL, .ins = ii, .acct = ai, .bal_hold = bh,
            .bal_recv = br, .side = (u8)f[3], .type = (u8)f[4], .tif = (u8)f[5],
            .flags = (u8)f[6], .stp = (u8)f[7], .state = (u8)f[17], .where = W_NONE};
        if (f[16] == 0 || f[16] >= e->next_serial) FAIL("bad order serial");
        accept_link(e, oi);
    }
    /* books and stop lists */
    r.i = ins_pos;
    for (u64 k = 0; k < n_ins; k++) {
        u32 ii = ins_find(e, r.w[r.i]);
        r.i += 14;
        for (u32 s = 0; s < 2; s++) {
            u64 nl = rd_u(&r);
            i64 prev_key = 0;
            for (u64 l = 0; l < nl; l++) {
                i64 price = (i64)rd_u(&r);
                u64 cnt = rd_u(&r);
                i64 total = (i64)rd_u(&r);
                if (price <= 0 || cnt == 0) FAIL("bad level");
                if (l && bkey(s, price) >= prev_key) FAIL("levels out of order");
                prev_key = bkey(s, price);
                u32 li = level_get(e, ii, s, price);
                for (u64 x = 0; x < cnt; x++) {
                    u32 oi = map_get(&e->omap, rd_u(&r));
                    if (oi == NIL) FAIL("level refers to unknown order");
                    Order *o = &e->orders[oi];
                    if (o->where != W_NONE || o->ins != ii || o->side != s || o->price != price ||
                        o->state != S_ACTIVE || o->visible <= 0 || o->visible > o->leaves)
                        FAIL("inconsistent resting order");
                    fifo_append(e, li, oi);
                    o->where = W_BOOK;
                }
                if (e->levels[li].total != total) FAIL("level total mismatch");
            }
        }
        for (u32 s = 0; s < 2; s++) {
            u64 cnt = rd_u(&r);
            u32 tail = NIL;
            for (u64 x = 0; x < cnt; x++) {
                u32 oi = map_get(&e->omap, rd_u(&r));
                if (oi == NIL) FAIL("stop list refers to unknown order");
                Order *o = &e->orders[oi];
                if (o->where != W_NONE || o->ins != ii || o->side != s ||
                    o->state != S_STOP_PENDING || o->stop <= 0)
                    FAIL("inconsistent stop order");
                o->prev = tail;
                o->next = NIL;
                if (tail != NIL) e->orders[tail].next = oi; else e->ins[ii].stop_head[s] = oi;
                tail = oi;
                o->where = W_STOPS;
            }
        }
    }
    for (u32 oi = e->ahead; oi != NIL; oi = e->orders[oi].anext) {
        if (e->orders[oi].where == W_NONE) FAIL("order neither in a book nor a stop list");
        if (e->orders[oi].tif == TIF_GTD) heap_push_raw(e, (HeapItem){e->orders[oi].expire,
                                                                     e->orders[oi].serial, oi});
    }
    return NULL;
}

/* ------------------------------------------------------------------ invariants */
#define BAD(...) do { snprintf(e->err, sizeof e->err, __VA_ARGS__); free(expect); return 1; } while (0)

static int check_invariants(Engine *e) {
    i64 *expect = calloc(e->n_bal ? e->n_bal : 1, sizeof(i64));
    if (!expect) venue_engine_oom();
    u64 placed = 0;
    for (u32 ii = 0; ii < e->n_ins; ii++) {
        Instrument *ins = &e->ins[ii];
        for (u32 s = 0; s < 2; s++) {
            Book *b = &ins->books[s];
            u32 live = 0;
            for (u32 k = 0; k < b->n; k++) {
                Level *L = &e->levels[b->lv[k]];
                if (k && b->key[k] <= b->key[k - 1]) BAD("levels not sorted");
                if (b->key[k] != bkey(s, L->price)) BAD("level key mismatch");
                if (map_get(&ins->lmap, lkey(s, L->price)) != b->lv[k]) BAD("level map mismatch");
                if (L->count == 0) {
                    if (k == b->n - 1 || L->head != NIL || L->total) BAD("empty level at top");
                    continue;
                }
                live++;
                u32 cnt = 0, prev = NIL;
                i64 tot = 0;
                for (u32 oi = L->head; oi != NIL; prev = oi, oi = e->orders[oi].next) {
                    Order *o = &e->orders[oi];
                    if (o->where != W_BOOK || o->level != b->lv[k] || o->ins != ii || o->side != s ||
                        o->price != L->price || o->prev != prev || o->state != S_ACTIVE)
                        BAD("order %llu badly linked", (unsigned long long)o->id);
                    if (o->visible <= 0 || o->visible > o->leaves || o->leaves <= 0)
                        BAD("order %llu bad quantities", (unsigned long long)o->id);
                    cnt++;
                    tot += o->visible;
                }
                if (prev != L->tail || cnt != L->count || tot != L->total || cnt == 0)
                    BAD("level %lld count/total mismatch", (long long)L->price);
                placed += cnt;
            }
            if (live != b->live) BAD("live levels");
        }
        if (ins->lmap.len != ins->books[0].n + ins->books[1].n) BAD("level map size");
        Book *bb = &ins->books[BUY], *ab = &ins->books[SELL];
        if (bb->n && ab->n &&
            e->levels[bb->lv[bb->n - 1]].price >= e->levels[ab->lv[ab->n - 1]].price)
            BAD("book crossed");
        for (u32 s = 0; s < 2; s++) {
            u32 prev = NIL;
            for (u32 oi = ins->stop_head[s]; oi != NIL; prev = oi, oi = e->orders[oi].next) {
                Order *o = &e->orders[oi];
                if (o->where != W_STOPS || o->state != S_STOP_PENDING || o->prev != prev ||
                    o->ins != ii || o->side != s)
                    BAD("stop order badly linked");
                if (prev != NIL) {
                    Order *p = &e->orders[prev];
                    int ok = s == BUY ? p->stop < o->stop : p->stop > o->stop;
                    if (!ok && !(p->stop == o->stop && p->serial < o->serial))
                        BAD("stops out of trigger order");
                }
                placed++;
            }
        }
    }
    u32 n = 0;
    u64 last_serial = 0;
    for (u32 oi = e->ahead; oi != NIL; oi = e->orders[oi].anext) {
        Order *o = &e->orders[oi];
        if (map_get(&e->omap, o->id) != oi) BAD("order map mismatch");
        if (o->serial <= last_serial || o->serial >= e->next_serial) BAD("serial order");
        last_serial = o->serial;
        expect[o->bal_hold] += hold_of(e, o);
        n++;
    }
    if (n != e->n_orders || n != e->omap.len || placed != n) BAD("order count mismatch");
    for (u32 k = 0; k < e->n_wd; k++)
        if (e->wd[k].live) expect[e->wd[k].bal] += e->wd[k].amount;
    for (u32 k = 0; k < e->n_bal; k++) {
        if (e->bal[k].avail < 0 || e->bal[k].held < 0) BAD("negative balance");
        if (e->bal[k].held != expect[k]) BAD("held %lld != holds %lld", (long long)e->bal[k].held,
                                             (long long)expect[k]);
    }
    free(expect);
    return 0;
}
