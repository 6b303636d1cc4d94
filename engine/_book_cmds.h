/* engine._book: command handlers (validation order = docs/engine.md), rejects, dispatch. Included once by _book.c (one translation unit). */
#ifndef VENUE_ENGINE_BOOK_CMDS_H
#define VENUE_ENGINE_BOOK_CMDS_H

/* ------------------------------------------------------------------ commands */
static u32 ins_find(Engine *e, u64 id) { return id > U32MAX ? NIL : map_get(&e->imap, id); }

static int check_qty(const Instrument *ins, i64 qty) {
    if (qty <= 0) return RJ_QTY_NOT_POSITIVE;
    if (ins->lot > 1 && qty % ins->lot) return RJ_QTY_OFF_LOT;
    if (qty < ins->min_qty) return RJ_QTY_BELOW_MIN;
    if (qty > ins->max_qty) return RJ_QTY_ABOVE_MAX;
    return 0;
}

static void set_band(Instrument *ins) {
    i128 delta = (i128)ins->ref * ins->band / 10000;
    i128 hi = ins->ref + delta, lo = ins->ref - delta;
    ins->band_hi = hi > I64MAX ? I64MAX : (i64)hi;
    ins->band_lo = lo < INT64_MIN ? INT64_MIN : (i64)lo;
}

static int check_limit(const Instrument *ins, i64 price) {
    if (price <= 0) return RJ_INVALID_PRICE;
    if (ins->tick > 1 && price % ins->tick) return RJ_PRICE_OFF_TICK;
    if (price < ins->band_lo || price > ins->band_hi) return RJ_PRICE_OUTSIDE_BAND;
    return 0;
}

static int check_state(const Instrument *ins) {
    if (ins->state == 1) return RJ_INSTRUMENT_HALTED;
    if (ins->state == 2) return RJ_INSTRUMENT_CLOSED;
    return 0;
}

static i64 protection(const Instrument *ins, u32 side) {
    i128 delta = (i128)ins->ref * ins->band / 10000;
    if (side == BUY) {
        i128 hi = ins->ref + delta;
        if (hi > I64MAX) hi = I64MAX;
        return (i64)(hi / ins->tick * ins->tick);
    }
    i128 lo = ins->ref - delta;
    if (lo <= ins->tick) return ins->tick;
    return (i64)((lo + ins->tick - 1) / ins->tick * ins->tick);
}

static int crosses_book(Engine *e, u32 ii, u32 side, i64 price) {
    Book *b = &e->ins[ii].books[1 - side];
    if (!b->n) return 0;
    return crosses_level(side, e->levels[b->lv[b->n - 1]].price, price);
}

static void ack(Engine *e, u64 ins, u64 cmd, u64 ref, u64 value) {
    u64 w[3] = {cmd, ref, value};
    emit(e, E_ACK, ins, w);
}

static int cmd_add_instrument(Engine *e, const u8 *r) {
    u64 id = SLOT(r, 0), base = SLOT(r, 5), quote = SLOT(r, 6);
    i64 tick = SLOTI(r, 1), lot = SLOTI(r, 2), mn = SLOTI(r, 3), mx = SLOTI(r, 4);
    i64 tv = SLOTI(r, 7), band = SLOTI(r, 8), ref = SLOTI(r, 9);
    if (id == 0 || id > U32MAX) return RJ_INVALID_INSTRUMENT_CONFIG;
    if (map_get(&e->imap, id) != NIL) return RJ_DUPLICATE_INSTRUMENT;
    int ok = tick > 0 && lot > 0 && mn > 0 && mn % lot == 0 && mx >= mn && mx % lot == 0 &&
             base <= U32MAX && quote <= U32MAX && base != quote && tv > 0 && band >= 1 &&
             band <= 1000000 && ref > 0 && ref % tick == 0 && r[2] <= 18 && r[3] <= 18;
    if (!ok) return RJ_INVALID_INSTRUMENT_CONFIG;
    GROW(e->ins, e->ins_cap, e->n_ins + 1, Instrument);
    u32 ii = e->n_ins++;
    Instrument *ins = &e->ins[ii];
    memset(ins, 0, sizeof *ins);
    ins->id = id; ins->base = base; ins->quote = quote; ins->tick = tick; ins->lot = lot;
    ins->min_qty = mn; ins->max_qty = mx; ins->tick_value = tv; ins->band = band; ins->ref = ref;
    ins->price_scale = r[2]; ins->qty_scale = r[3];
    set_band(ins);
    ins->stop_head[0] = ins->stop_head[1] = NIL;
    map_init(&ins->lmap, 8);
    map_init(&ins->tmap, 4);
    map_put(&e->imap, id, ii);
    e->ins[ii].fee_bal = bal_get(e, map_get(&e->amap, FEE_ACCOUNT), quote);
    ack(e, id, C_ADD_INSTRUMENT, id, 0);
    return 0;
}

static int cmd_new_order(Engine *e, const u8 *r) {
    u64 oid = SLOT(r, 0), aid = SLOT(r, 1);
    i64 price = SLOTI(r, 3), qty = SLOTI(r, 4), stop = SLOTI(r, 5), display = SLOTI(r, 6);
    i64 expire = SLOTI(r, 7);
    u32 side = r[2], type = r[3], tif = r[4], flags = r[5], stp = r[6];
    u32 ii = ins_find(e, SLOT(r, 2));
    if (ii == NIL) return RJ_UNKNOWN_INSTRUMENT;
    u32 ai = map_get(&e->amap, aid);
    if (ai == NIL) return RJ_UNKNOWN_ACCOUNT;
    if (side > 1) return RJ_INVALID_SIDE;
    if (type > 3) return RJ_INVALID_ORD_TYPE;
    if (tif > 4) return RJ_INVALID_TIF;
    if (stp > 4) return RJ_INVALID_STP_MODE;
    if (flags & ~FLAG_POST_ONLY) return RJ_INVALID_FLAGS;
    if (oid == 0) return RJ_INVALID_ORDER_ID;
    if (map_get(&e->omap, oid) != NIL) return RJ_DUPLICATE_ORDER_ID;
    Instrument *ins = &e->ins[ii];
    int rc;
    if ((rc = check_state(ins)) || (rc = check_qty(ins, qty))) return rc;
    int has_limit = type == T_LIMIT || type == T_STOP_LIMIT;
    int is_stop = type == T_STOP || type == T_STOP_LIMIT;
    if (has_limit) {
        if ((rc = check_limit(ins, price))) return rc;
    } else if (price != 0) return RJ_INVALID_PRICE;
    if (is_stop) {
        if (stop <= 0) return RJ_INVALID_STOP_PRICE;
        if (stop % ins->tick) return RJ_PRICE_OFF_TICK;
    } else if (stop != 0) return RJ_INVALID_STOP_PRICE;
    if (display < 0 || display % ins->lot || (display && !has_limit)) return RJ_INVALID_DISPLAY_QTY;
    if (type == T_MARKET && tif != TIF_IOC && tif != TIF_FOK) return RJ_INVALID_TIF;
    if ((flags & FLAG_POST_ONLY) && (type != T_LIMIT || tif == TIF_IOC || tif == TIF_FOK))
        return RJ_POST_ONLY_INVALID;
    if (tif == TIF_GTD ? expire <= e->clock : expire != 0) return RJ_INVALID_EXPIRE_TIME;
    if (!has_limit) price = protection(ins, side);
    i64 hpl, need;
    if ((rc = hold_terms(ins, &e->acc[ai], side, price, qty, &hpl, &need))) return rc;
    if ((flags & FLAG_POST_ONLY) && crosses_book(e, ii, side, price))
        return RJ_POST_ONLY_WOULD_TAKE;
    u32 bh = bal_get(e, ai, side == BUY ? ins->quote : ins->base);
    if (e->bal[bh].avail < need) return RJ_INSUFFICIENT_FUNDS;
    u32 br = bal_get(e, ai, side == BUY ? ins->base : ins->quote);
    e->bal[bh].avail -= need;
    e->bal[bh].held += need;
    u32 oi = order_alloc(e);
    Order *o = &e->orders[oi];
    *o = (Order){.id = oid, .account = aid, .serial = e->next_serial++, .price = price,
                 .stop = stop, .qty = qty, .leaves = qty, .visible = 0, .display = display,
                 .cum = 0, .expire = expire, .hpl = hpl, .prev = NIL, .next = NIL,
                 .level = NIL, .ins = ii, .acct = ai, .bal_hold = bh, .bal_recv = br,
                 .side = (u8)side, .type = (u8)type, .tif = (u8)tif, .flags = (u8)flags,
                 .stp = (u8)stp, .state = is_stop ? S_STOP_PENDING : S_ACTIVE, .where = W_NONE};
    accept_link(e, oi);
    u64 info = side | (type << 8) | (tif << 16) | (flags << 24) | ((u64)stp << 32);
    u64 w[8] = {oid, aid, info, (u64)price, (u64)qty, (u64)stop, (u64)display, (u64)expire};
    emit(e, E_ACCEPTED, ins->id, w);
    if (tif == TIF_GTD) heap_push(e, oi);
    if (is_stop) stop_insert(e, oi);
    else execute(e, ii, oi);
    triggers(e, ii);
    return 0;
}

static int own_order(Engine *e, const u8 *r, u32 *oi) {
    *oi = map_get(&e->omap, SLOT(r, 0));
    if (*oi == NIL) return RJ_UNKNOWN_ORDER_ID;
    if (e->orders[*oi].account != SLOT(r, 1)) return RJ_ACCOUNT_MISMATCH;
    return 0;
}

static int cmd_cancel(Engine *e, const u8 *r) {
    u32 oi;
    int rc = own_order(e, r, &oi);
    if (rc) return rc;
    order_remove(e, oi, CR_USER, E_CANCELED);
    return 0;
}

static int cmd_replace(Engine *e, const u8 *r) {
    u32 oi;
    int rc = own_order(e, r, &oi);
    if (rc) return rc;
    i64 price = SLOTI(r, 2), qty = SLOTI(r, 3);
    Order *o = &e->orders[oi];
    u32 ii = o->ins;
    Instrument *ins = &e->ins[ii];
    if (o->state == S_STOP_PENDING) return RJ_ORDER_NOT_REPLACEABLE;
    if ((rc = check_state(ins)) || (rc = check_qty(ins, qty))) return rc;
    if (qty <= o->cum) return RJ_REPLACE_QTY_TOO_LOW;
    if ((rc = check_limit(ins, price))) return rc;
    i64 leaves = qty - o->cum, hpl, need;
    if ((rc = hold_terms(ins, &e->acc[o->acct], o->side, price, leaves, &hpl, &need))) return rc;
    if ((o->flags & FLAG_POST_ONLY) && crosses_book(e, ii, o->side, price))
        return RJ_POST_ONLY_WOULD_TAKE;
    Balance *b = &e->bal[o->bal_hold];
    i64 delta = need - hold_of(e, o);
    if (delta > b->avail) return RJ_INSUFFICIENT_FUNDS;
    b->avail -= delta;
    b->held += delta;
    int keep = price == o->price && leaves <= o->leaves;
    if (keep) {
        i64 nv = min64(o->visible, leaves);
        e->levels[o->level].total -= o->visible - nv;
        o->visible = nv;
        o->qty = qty;
        o->leaves = leaves;
        touch(e, ii, o->side, o->price);
    } else {
        book_remove(e, oi);
        o->price = price;
        o->qty = qty;
        o->leaves = leaves;
        o->hpl = hpl;
    }
    u64 w[6] = {o->id, o->account, (u64)o->price, (u64)o->qty, (u64)o->leaves, (u64)keep};
    emit(e, E_REPLACED, ins->id, w);
    if (!keep) {
        execute(e, ii, oi);
        triggers(e, ii);
    }
    return 0;
}

static int cmd_mass_cancel(Engine *e, const u8 *r) {
    u64 aid = SLOT(r, 0), iid = SLOT(r, 1);
    u32 side = r[2], ii = NIL, ai = NIL, count = 0;
    if (side > 2) return RJ_INVALID_SIDE;
    if (iid && (ii = ins_find(e, iid)) == NIL) return RJ_UNKNOWN_INSTRUMENT;
    if (aid && (ai = map_get(&e->amap, aid)) == NIL) return RJ_UNKNOWN_ACCOUNT;
    for (u32 oi = e->ahead; oi != NIL;) {
        Order *o = &e->orders[oi];
        u32 nx = o->anext;
        if ((!aid || o->acct == ai) && (!iid || o->ins == ii) && (side == 2 || o->side == side)) {
            order_remove(e, oi, CR_MASS_CANCEL, E_CANCELED);
            count++;
        }
        oi = nx;
    }
    u64 w[3] = {aid, side, count};
    emit(e, E_MASS_CANCELED, iid, w);
    return 0;
}

static int cmd_end_of_session(Engine *e, const u8 *r) {
    u64 iid = SLOT(r, 0);
    u32 ii = NIL, count = 0;
    if (iid && (ii = ins_find(e, iid)) == NIL) return RJ_UNKNOWN_INSTRUMENT;
    for (u32 oi = e->ahead; oi != NIL;) {
        Order *o = &e->orders[oi];
        u32 nx = o->anext;
        if (o->tif == TIF_DAY && (!iid || o->ins == ii)) {
            order_remove(e, oi, CR_DAY_EXPIRED, E_EXPIRED);
            count++;
        }
        oi = nx;
    }
    ack(e, iid, C_END_OF_SESSION, iid, count);
    return 0;
}

static int cmd_status(Engine *e, const u8 *r) {
    u32 oi;
    int rc = own_order(e, r, &oi);
    if (rc) return rc;
    Order *o = &e->orders[oi];
    u64 info = o->side | ((u64)o->type << 8) | ((u64)o->tif << 16) | ((u64)o->state << 24);
    u64 w[8] = {o->id, o->account, info, (u64)o->price, (u64)o->qty, (u64)o->leaves,
                (u64)o->cum, (u64)o->stop};
    emit(e, E_STATUS, e->ins[o->ins].id, w);
    return 0;
}

static int cmd_account(Engine *e, const u8 *r) {
    u64 id = SLOT(r, 0), group = SLOT(r, 1);
    i64 maker = SLOTI(r, 2), taker = SLOTI(r, 3);
    if (map_get(&e->amap, id) != NIL) return RJ_DUPLICATE_ACCOUNT;
    if (maker < 0 || maker > 10000 || taker < 0 || taker > 10000) return RJ_INVALID_ACCOUNT_CONFIG;
    account_add(e, id, group, maker, taker);
    ack(e, 0, C_ADD_ACCOUNT, id, group);
    return 0;
}

static int cmd_deposit(Engine *e, const u8 *r) {
    u64 aid = SLOT(r, 0), asset = SLOT(r, 1);
    i64 amount = SLOTI(r, 2);
    u32 ai = map_get(&e->amap, aid);
    if (ai == NIL) return RJ_UNKNOWN_ACCOUNT;
    if (asset > U32MAX) return RJ_UNKNOWN_ASSET;
    if (amount <= 0) return RJ_INVALID_AMOUNT;
    u32 si = supply_get(e, asset);
    if (e->supply[si] > I64MAX - amount) return RJ_BALANCE_OVERFLOW;
    e->supply[si] += amount;
    u32 bi = bal_get(e, ai, asset);
    e->bal[bi].avail += amount;
    u64 w[4] = {aid, asset, (u64)amount, (u64)e->bal[bi].avail};
    emit(e, E_DEPOSITED, 0, w);
    return 0;
}

static int cmd_withdraw_hold(Engine *e, const u8 *r) {
    u64 wid = SLOT(r, 0), aid = SLOT(r, 1), asset = SLOT(r, 2);
    i64 amount = SLOTI(r, 3);
    if (map_get(&e->wmap, wid) != NIL) return RJ_DUPLICATE_WITHDRAWAL_ID;
    u32 ai = map_get(&e->amap, aid);
    if (ai == NIL) return RJ_UNKNOWN_ACCOUNT;
    if (asset > U32MAX) return RJ_UNKNOWN_ASSET;
    if (amount <= 0) return RJ_INVALID_AMOUNT;
    u32 bi = bal_get(e, ai, asset);
    if (e->bal[bi].avail < amount) return RJ_INSUFFICIENT_FUNDS;
    e->bal[bi].avail -= amount;
    e->bal[bi].held += amount;
    u32 wi = e->wfree;
    if (wi == NIL) {
        GROW(e->wd, e->wd_cap, e->n_wd + 1, Withdrawal);
        wi = e->n_wd++;
    } else {
        e->wfree = e->wd[wi].acct;
    }
    e->wd[wi] = (Withdrawal){wid, ai, bi, 1, amount};
    map_put(&e->wmap, wid, wi);
    u64 w[6] = {wid, aid, asset, (u64)amount, (u64)e->bal[bi].avail, (u64)e->bal[bi].held};
    emit(e, E_WITHDRAW_HELD, 0, w);
    return 0;
}

static int cmd_withdraw_end(Engine *e, const u8 *r, int release) {
    u64 wid = SLOT(r, 0);
    u32 wi = map_get(&e->wmap, wid);
    if (wi == NIL) return RJ_UNKNOWN_WITHDRAWAL_ID;
    Withdrawal wd = e->wd[wi];
    Balance *b = &e->bal[wd.bal];
    b->held -= wd.amount;
    if (release) b->avail += wd.amount;
    else e->supply[supply_get(e, b->asset)] -= wd.amount;
    map_del(&e->wmap, wid);
    e->wd[wi].live = 0;
    e->wd[wi].acct = e->wfree;
    e->wfree = wi;
    u64 w[6] = {wid, e->acc[wd.acct].id, b->asset, (u64)wd.amount, (u64)b->avail, (u64)b->held};
    emit(e, release ? E_WITHDRAW_RELEASED : E_WITHDRAW_CONFIRMED, 0, w);
    return 0;
}

static void reject(Engine *e, u32 t, const u8 *r, int code) {
    u64 ref = 0, acct = 0, iid = 0;
    switch (t) {
    case C_NEW_ORDER: ref = SLOT(r, 0); acct = SLOT(r, 1); iid = SLOT(r, 2); break;
    case C_CANCEL: case C_REPLACE: case C_ORDER_STATUS: ref = SLOT(r, 0); acct = SLOT(r, 1); break;
    case C_WITHDRAW_HOLD: ref = SLOT(r, 0); acct = SLOT(r, 1); break;
    case C_WITHDRAW_CONFIRM: case C_WITHDRAW_RELEASE: ref = SLOT(r, 0); break;
    case C_ADD_ACCOUNT: case C_DEPOSIT: ref = acct = SLOT(r, 0); break;
    case C_ADD_INSTRUMENT: case C_SET_TRADING_STATE: case C_SET_REFERENCE_PRICE:
    case C_END_OF_SESSION: ref = iid = SLOT(r, 0); break;
    case C_MASS_CANCEL: acct = SLOT(r, 0); ref = iid = SLOT(r, 1); break;
    default: break;
    }
    if (iid > U32MAX) iid = 0;
    u64 w[4] = {ref, acct, (u64)(i64)code, t};
    emit(e, E_REJECTED, iid, w);
}

static int dispatch(Engine *e, u32 t, const u8 *r) {
    switch (t) {
    case C_NEW_ORDER: return cmd_new_order(e, r);
    case C_REPLACE: return cmd_replace(e, r);
    case C_CANCEL: return cmd_cancel(e, r);
    case C_ADD_INSTRUMENT: return cmd_add_instrument(e, r);
    case C_SET_TRADING_STATE: {
        u32 ii = ins_find(e, SLOT(r, 0));
        if (ii == NIL) return RJ_UNKNOWN_INSTRUMENT;
        if (r[2] > 2) return RJ_INVALID_TRADING_STATE;
        e->ins[ii].state = r[2];
        ack(e, e->ins[ii].id, C_SET_TRADING_STATE, e->ins[ii].id, r[2]);
        return 0;
    }
    case C_SET_REFERENCE_PRICE: {
        u32 ii = ins_find(e, SLOT(r, 0));
        i64 p = SLOTI(r, 1);
        if (ii == NIL) return RJ_UNKNOWN_INSTRUMENT;
        if (p <= 0 || p % e->ins[ii].tick) return RJ_INVALID_REFERENCE_PRICE;
        e->ins[ii].ref = p;
        set_band(&e->ins[ii]);
        ack(e, e->ins[ii].id, C_SET_REFERENCE_PRICE, e->ins[ii].id, (u64)p);
        return 0;
    }
    case C_ADD_ACCOUNT: return cmd_account(e, r);
    case C_DEPOSIT: return cmd_deposit(e, r);
    case C_WITHDRAW_HOLD: return cmd_withdraw_hold(e, r);
    case C_WITHDRAW_CONFIRM: return cmd_withdraw_end(e, r, 0);
    case C_WITHDRAW_RELEASE: return cmd_withdraw_end(e, r, 1);
    case C_MASS_CANCEL: return cmd_mass_cancel(e, r);
    case C_ORDER_STATUS: return cmd_status(e, r);
    case C_END_OF_SESSION: return cmd_end_of_session(e, r);
    case C_ADVANCE_CLOCK: ack(e, 0, C_ADVANCE_CLOCK, 0, (u64)e->clock); return 0;
    default: return RJ_UNKNOWN_COMMAND;
    }
}

static void flush_touched(Engine *e) {
    for (u32 k = 0; k < e->ntouch; k++) {
        Touch *t = &e->touch[k];
        u32 li = level_find(e, t->ins, t->side, t->price);
        u64 w[4] = {t->side, (u64)t->price, li == NIL ? 0 : (u64)e->levels[li].total,
                    li == NIL ? 0 : e->levels[li].count};
        emit(e, E_BOOK, e->ins[t->ins].id, w);
        if (e->touch_mapped) map_del(&e->ins[t->ins].tmap, lkey(t->side, t->price));
    }
    e->ntouch = 0;
    e->touch_mapped = 0;
}

static int check_invariants(Engine *e); /* below */

static void run_command(Engine *e, const u8 *r) {
    uint16_t t;
    memcpy(&t, r, 2);
    e->seq = rd64(r + 8);
    i64 ts = rdi(r + 16);
    e->ntouch = 0;
    if (ts > e->clock) {
        e->clock = ts;
        expire_gtd(e);
    }
    int rc = dispatch(e, t, r);
    if (rc) reject(e, t, r, rc);
    if (e->ntouch) flush_touched(e);
}




#endif
