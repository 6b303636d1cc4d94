/* DO NOT MODIFY: generated from venue/rejects.py by `python -m engine.gen_rejects`. */
#ifndef VENUE_ENGINE_REJECTS_H
#define VENUE_ENGINE_REJECTS_H

enum venue_reject_code {
    RJ_OK = 0,  /* ok */
    RJ_UNKNOWN_COMMAND = -1001,  /* unknown command type */
    RJ_UNKNOWN_INSTRUMENT = -1002,  /* unknown instrument */
    RJ_UNKNOWN_ACCOUNT = -1003,  /* unknown account */
    RJ_INVALID_SIDE = -1004,  /* invalid side */
    RJ_INVALID_ORD_TYPE = -1005,  /* invalid order type */
    RJ_INVALID_TIF = -1006,  /* time in force not allowed for this order type */
    RJ_INVALID_STP_MODE = -1007,  /* invalid self-trade prevention mode */
    RJ_INVALID_FLAGS = -1008,  /* unknown order flags */
    RJ_INVALID_ORDER_ID = -1009,  /* order id must be non-zero */
    RJ_DUPLICATE_ORDER_ID = -1010,  /* duplicate order id (a live order has it) */
    RJ_QTY_NOT_POSITIVE = -1011,  /* quantity must be positive */
    RJ_QTY_OFF_LOT = -1012,  /* quantity is not a multiple of the lot size */
    RJ_QTY_BELOW_MIN = -1013,  /* quantity below the instrument minimum */
    RJ_QTY_ABOVE_MAX = -1014,  /* quantity above the instrument maximum */
    RJ_INVALID_PRICE = -1015,  /* invalid price for this order type */
    RJ_PRICE_OFF_TICK = -1016,  /* price is not a multiple of the tick size */
    RJ_INVALID_STOP_PRICE = -1017,  /* invalid stop price for this order type */
    RJ_INVALID_DISPLAY_QTY = -1018,  /* invalid display quantity */
    RJ_POST_ONLY_INVALID = -1019,  /* post-only needs a limit order resting in book */
    RJ_INVALID_EXPIRE_TIME = -1020,  /* expire time missing, in the past or not GTD */
    RJ_OVERFLOW = -1021,  /* price times quantity overflows 64-bit integers */
    RJ_DUPLICATE_INSTRUMENT = -1022,  /* instrument already exists */
    RJ_INVALID_INSTRUMENT_CONFIG = -1023,  /* invalid instrument configuration */
    RJ_DUPLICATE_ACCOUNT = -1024,  /* account already exists */
    RJ_INVALID_ACCOUNT_CONFIG = -1025,  /* invalid account configuration */
    RJ_INVALID_AMOUNT = -1026,  /* amount must be positive */
    RJ_UNKNOWN_ASSET = -1027,  /* asset id out of range */
    RJ_DUPLICATE_WITHDRAWAL_ID = -1028,  /* duplicate withdrawal id */
    RJ_UNKNOWN_WITHDRAWAL_ID = -1029,  /* unknown withdrawal id */
    RJ_INVALID_TRADING_STATE = -1030,  /* invalid trading state */
    RJ_INVALID_REFERENCE_PRICE = -1031,  /* reference price must be positive, on tick */
    RJ_INSUFFICIENT_FUNDS = -2001,  /* insufficient available balance */
    RJ_PRICE_OUTSIDE_BAND = -2002,  /* price outside the instrument price band */
    RJ_BALANCE_OVERFLOW = -2003,  /* asset supply would exceed 64-bit range */
    RJ_INSTRUMENT_HALTED = -3001,  /* instrument is halted */
    RJ_INSTRUMENT_CLOSED = -3002,  /* instrument is closed */
    RJ_UNKNOWN_ORDER_ID = -3003,  /* unknown order id (not live) */
    RJ_ACCOUNT_MISMATCH = -3004,  /* order belongs to another account */
    RJ_POST_ONLY_WOULD_TAKE = -3005,  /* post-only order would take liquidity */
    RJ_REPLACE_QTY_TOO_LOW = -3006,  /* new quantity not above filled quantity */
    RJ_ORDER_NOT_REPLACEABLE = -3007,  /* untriggered stop orders cannot be replaced */
};

enum venue_cancel_reason {
    CR_USER = 1,
    CR_IOC_REMAINDER = 2,
    CR_FOK_UNFILLABLE = 3,
    CR_SELF_TRADE = 4,
    CR_MASS_CANCEL = 5,
    CR_DAY_EXPIRED = 6,
    CR_GTD_EXPIRED = 7,
};

#endif
