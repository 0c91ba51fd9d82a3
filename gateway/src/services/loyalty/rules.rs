//! The arithmetic of points, apart from storage: what an order earns, which lots
//! a debit consumes, how much of a refunded order's points can be taken back,
//! and what a redemption is worth.

use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};

/// Minor units per currency unit: every shop currency has two decimals (see
/// `Money`).
const MINOR_PER_UNIT: i128 = 100;

/// A rate kept to hundredths, so earnings are exact integer arithmetic.
fn hundredths(rate: f64) -> i128 {
    (rate * 100.0).round() as i128
}

/// Points an order of `total_minor` earns at `points_per_unit` for a customer
/// whose level multiplies earnings by `multiplier`; rounded down.
pub fn earned_points(total_minor: i64, points_per_unit: f64, multiplier: f64) -> i64 {
    let scaled =
        i128::from(total_minor.max(0)) * hundredths(points_per_unit) * hundredths(multiplier);
    let points = scaled / (MINOR_PER_UNIT * 100 * 100);
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// The earn multiplier of `level` (×1 when none is configured).
pub fn multiplier(settings: &LoyaltySettings, level: Option<&str>) -> f64 {
    level
        .and_then(|level| settings.level_multipliers.get(level))
        .copied()
        .unwrap_or(1.0)
}

/// A lot a debit may take from: its id and the points it has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub id: i64,
    pub remaining: i64,
}

/// Takes `points` from `lots` in the order given (oldest first): the points
/// taken from each lot, leaving out lots not touched. Takes less than asked
/// only when the lots hold less.
pub fn take_oldest_first(lots: &[Lot], points: i64) -> Vec<(i64, i64)> {
    let mut left = points.max(0);
    let mut taken = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        if take > 0 {
            taken.push((lot.id, take));
            left -= take;
        }
    }
    taken
}

/// What a refund takes back of the points its order earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reversal {
    /// Still unspent in the order's own lot.
    pub from_lot: i64,
    /// Already spent from the order's lot, so taken from the customer's other
    /// lots instead, as far as their balance allows.
    pub from_others: i64,
    /// Spent and not covered by the balance: the shop bears it, since the
    /// balance never goes negative.
    pub unrecovered: i64,
}

impl Reversal {
    pub fn total(&self) -> i64 {
        self.from_lot + self.from_others
    }
}

/// The points an order's lot earned and what became of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotHistory {
    pub earned: i64,
    /// Still unspent in the lot.
    pub remaining: i64,
    /// Expired from the lot: gone already, never taken back again.
    pub expired: i64,
    /// Taken back by earlier (partial) refunds.
    pub reversed: i64,
}

/// The points due back when a refund brings the refunded share of an order of
/// `total_minor` to `refunded_minor`: that share of what it earned, rounded
/// down, so partial refunds add up to the whole.
pub fn refunded_share(earned: i64, refunded_minor: i64, total_minor: i64) -> i64 {
    if total_minor <= 0 || refunded_minor >= total_minor {
        return earned;
    }
    let share = i128::from(earned) * i128::from(refunded_minor.max(0)) / i128::from(total_minor);
    i64::try_from(share).unwrap_or(earned)
}

/// The reversal that brings what an order's lot has given back up to `due`
/// points in all, for a customer whose balance (including the lot's remaining
/// points) is `balance`: first from the lot, then from the customer's other
/// lots for points of the lot already spent. Expired points are gone already
/// and are not taken twice.
pub fn reversal(lot: LotHistory, due: i64, balance: i64) -> Reversal {
    let owed = (due.min(lot.earned) - lot.reversed).max(0);
    let from_lot = owed.min(lot.remaining);
    let recoverable = (lot.earned - lot.expired - lot.reversed - from_lot).max(0);
    let spent = (owed - from_lot).min(recoverable);
    let from_others = spent.min((balance - lot.remaining).max(0));
    Reversal {
        from_lot,
        from_others,
        unrecovered: spent - from_others,
    }
}

/// What redeeming `points` is worth in minor units; refuses amounts that are
/// not a positive whole number of redemption steps.
pub fn redemption_value(settings: &LoyaltySettings, points: i64) -> ServiceResult<i64> {
    let step = settings.redeem_points;
    if points <= 0 || points % step != 0 {
        return Err(ServiceError::invalid(
            "points",
            format!("must be a positive multiple of {step}"),
        ));
    }
    Ok(points / step * settings.redeem_value_minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_earns_per_unit_times_the_level_multiplier_rounded_down() {
        // ¥1000.00 at one point per yuan.
        assert_eq!(earned_points(100_000, 1.0, 1.0), 1000);
        assert_eq!(earned_points(100_000, 1.0, 1.2), 1200);
        assert_eq!(earned_points(100_000, 1.0, 1.5), 1500);
        assert_eq!(earned_points(100_000, 1.0, 2.0), 2000);
        // ¥12.99 × 1.5 = 19.485 points.
        assert_eq!(earned_points(1_299, 1.0, 1.5), 19);
        // Rates that are not exact in binary still count exactly: ¥100 × 0.29.
        assert_eq!(earned_points(10_000, 0.29, 1.0), 29);
        assert_eq!(earned_points(10_000, 0.5, 1.2), 60);
        assert_eq!(earned_points(99, 1.0, 2.0), 1);
        assert_eq!(earned_points(49, 1.0, 2.0), 0);
        assert_eq!(earned_points(0, 1.0, 2.0), 0);
        assert_eq!(earned_points(i64::MAX, 1000.0, 1000.0), i64::MAX);
    }

    #[test]
    fn levels_without_a_multiplier_earn_once() {
        let settings = LoyaltySettings::default();
        assert_eq!(multiplier(&settings, Some("gold")), 1.5);
        assert_eq!(multiplier(&settings, Some("ordinary")), 1.0);
        assert_eq!(multiplier(&settings, None), 1.0);
    }

    #[test]
    fn debits_take_the_oldest_lots_first() {
        let lots = [
            Lot {
                id: 1,
                remaining: 100,
            },
            Lot {
                id: 2,
                remaining: 0,
            },
            Lot {
                id: 3,
                remaining: 50,
            },
            Lot {
                id: 4,
                remaining: 70,
            },
        ];
        assert_eq!(take_oldest_first(&lots, 30), [(1, 30)]);
        assert_eq!(take_oldest_first(&lots, 100), [(1, 100)]);
        assert_eq!(take_oldest_first(&lots, 120), [(1, 100), (3, 20)]);
        assert_eq!(take_oldest_first(&lots, 220), [(1, 100), (3, 50), (4, 70)]);
        assert_eq!(take_oldest_first(&lots, 500), [(1, 100), (3, 50), (4, 70)]);
        assert!(take_oldest_first(&lots, 0).is_empty());
        assert!(take_oldest_first(&[], 10).is_empty());
    }

    /// A whole refund of a lot no earlier refund touched.
    fn whole(earned: i64, remaining: i64, expired: i64, balance: i64) -> Reversal {
        let lot = LotHistory {
            earned,
            remaining,
            expired,
            reversed: 0,
        };
        reversal(lot, earned, balance)
    }

    #[test]
    fn a_refund_takes_back_unspent_points_then_spent_ones_from_the_balance() {
        // Nothing spent: the lot's points go.
        assert_eq!(
            whole(500, 500, 0, 800),
            Reversal {
                from_lot: 500,
                from_others: 0,
                unrecovered: 0
            }
        );
        // 300 spent, 200 left in the lot, 600 elsewhere: all 500 come back.
        let partly = whole(500, 200, 0, 800);
        assert_eq!(
            (partly.from_lot, partly.from_others, partly.unrecovered),
            (200, 300, 0)
        );
        assert_eq!(partly.total(), 500);
        // Spent, and only 100 elsewhere: 100 cannot be recovered.
        assert_eq!(
            whole(500, 200, 0, 300),
            Reversal {
                from_lot: 200,
                from_others: 100,
                unrecovered: 200
            }
        );
        // Expired points are not taken a second time.
        assert_eq!(
            whole(500, 0, 500, 900),
            Reversal {
                from_lot: 0,
                from_others: 0,
                unrecovered: 0
            }
        );
        assert_eq!(
            whole(500, 0, 200, 900),
            Reversal {
                from_lot: 0,
                from_others: 300,
                unrecovered: 0
            }
        );
    }

    #[test]
    fn partial_refunds_take_back_their_share_and_add_up_to_the_whole() {
        // 1000 earned on ¥300.00: refunding ¥100.00 then ¥50.00 then the rest.
        assert_eq!(refunded_share(1000, 10_000, 30_000), 333);
        assert_eq!(refunded_share(1000, 15_000, 30_000), 500);
        assert_eq!(refunded_share(1000, 30_000, 30_000), 1000);
        assert_eq!(refunded_share(1000, 0, 30_000), 0);
        let mut lot = LotHistory {
            earned: 1000,
            remaining: 1000,
            expired: 0,
            reversed: 0,
        };
        let mut taken = Vec::new();
        for due in [333, 500, 1000] {
            let step = reversal(lot, due, lot.remaining);
            assert_eq!(step.unrecovered, 0);
            lot.remaining -= step.from_lot;
            lot.reversed += step.total();
            taken.push(step.total());
        }
        assert_eq!(taken, [333, 167, 500]);
        assert_eq!(lot.reversed, 1000);
        // A refund whose share was taken already takes nothing more.
        assert_eq!(reversal(lot, 500, 0).total(), 0);
    }

    #[test]
    fn a_partial_refund_after_spending_takes_from_other_lots_and_skips_expired_points() {
        // 600 of the lot's 1000 spent, 300 expired, 100 left; 2000 elsewhere.
        let lot = LotHistory {
            earned: 1000,
            remaining: 100,
            expired: 300,
            reversed: 0,
        };
        // Half refunded: 500 due, 100 from the lot, 400 from other lots.
        assert_eq!(
            reversal(lot, 500, 2100),
            Reversal {
                from_lot: 100,
                from_others: 400,
                unrecovered: 0
            }
        );
        // Then the rest: only the 700 not expired can ever come back in all.
        let after = LotHistory {
            remaining: 0,
            reversed: 500,
            ..lot
        };
        assert_eq!(
            reversal(after, 1000, 1600),
            Reversal {
                from_lot: 0,
                from_others: 200,
                unrecovered: 0
            }
        );
    }

    #[test]
    fn redemptions_are_whole_steps() {
        let settings = LoyaltySettings::default();
        assert_eq!(redemption_value(&settings, 100).unwrap(), 1_000);
        assert_eq!(redemption_value(&settings, 2_500).unwrap(), 25_000);
        for wrong in [0, -100, 150] {
            let err = redemption_value(&settings, wrong).unwrap_err();
            assert_eq!(
                err.to_string(),
                "points: must be a positive multiple of 100"
            );
        }
    }
}
