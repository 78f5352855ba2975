-- 0008: Swedbank Pay payment orders (PRODUCT.md, "Swedbank Pay payment orders"). A payment order's
-- payment is `/psp/paymentorders/<id>` (the `payment` column takes it as it is); the shop may give
-- its `order_items`, kept here as the canonical JSON array text the core made of them (keys in
-- Swedbank Pay's order, no white space: the same items always give the same text), sent with a full
-- capture. NULL: none given, and always NULL for anything but a payment order.
ALTER TABLE authorization ADD COLUMN order_items TEXT
    CHECK (order_items IS NULL
        OR (psp = 'swedbankpay' AND substr(payment, 1, 19) = '/psp/paymentorders/'
            AND substr(order_items, 1, 1) = '['));
