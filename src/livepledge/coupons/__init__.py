"""Shop coupons (优惠券): kinds, budgets, claims through an atomic gate, use at checkout
(docs/fans.md, "Coupons")."""
