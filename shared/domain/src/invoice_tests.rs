use super::*;
use crate::fees::{FeeBasis, FeeSchedule};
use crate::offer::tests::agreement;
use crate::opportunity::tests::now;
use crate::payment::Payment;
use crate::pricing::{disburse, price, price_schedule, LineInput, Pricing, UsageRate};
use crate::product::ProductType;
use crate::time::start_instant;
use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    crate::time::parse_date(s).unwrap()
}

/// `agreement()` (accepted and started 2027-01-10, ending 2028-01-09) with `pricing` instead.
fn with_pricing(pricing: Pricing, currency: Currency) -> Agreement {
    let basis =
        FeeBasis { product_type: ProductType::SaasContract, renewal: false, buyer_total: pricing.buyer_total, channel_partner: true };
    let disbursement = disburse(&pricing, currency, basis, &FeeSchedule::default());
    Agreement { pricing, disbursement, billing: Billing::default(), ..agreement() }
}

fn seat() -> Agreement {
    let wholesale = crate::pricing::wholesale_unit(d("100.00"), d("20"));
    let line = LineInput { dimension_key: "users", units: 1, list_price: d("100.00"), wholesale_price: wholesale };
    with_pricing(price(&[line], d("10"), Currency::USD), Currency::USD)
}

fn three_payments() -> Agreement {
    let payments: Vec<Payment> = [("1000.01", "2027-01-10"), ("333.33", "2027-04-10"), ("0.01", "2027-07-10")]
        .iter()
        .map(|(amount, on)| Payment { amount: d(amount), invoice_date: date(on) })
        .collect();
    with_pricing(price_schedule(&[], &payments, d("7.5"), Currency::USD), Currency::USD)
}

fn metered() -> Agreement {
    let wholesale = crate::pricing::wholesale_rate(d("0.0456789"), d("15"));
    let mut pricing = price(&[], d("12"), Currency::USD);
    pricing.usage_rates = vec![UsageRate::marked_up("gb", d("0.0456789"), wholesale, d("12"))];
    with_pricing(pricing, Currency::USD)
}

fn parts(i: &Invoice) -> [Decimal; 4] {
    let d = &i.disbursement;
    [d.isv_net, d.isv_fee, d.reseller_net, d.reseller_fee]
}

#[test]
fn a_seat_is_invoiced_up_front_on_its_start_and_due_after_the_net_term() {
    let [upfront] = plan(&seat(), now()).try_into().unwrap();
    assert_eq!((upfront.kind, upfront.status), (InvoiceKind::Upfront, InvoiceStatus::Issued));
    assert_eq!((upfront.issue_date, upfront.due_date), (date("2027-01-10"), date("2027-02-09")));
    assert_eq!(parts(&upfront).map(|p| p.to_string()), ["77.20", "2.80", "7.72", "0.28"]);
    assert_eq!(upfront.buyer_total.to_string(), "88.00");
    assert_eq!(agreement_of(&upfront.invoice_id).as_deref(), Some("agr-0123456789abcdef0123456789abcdef"));
}

#[test]
fn a_future_dated_upfront_invoice_is_scheduled_until_its_day_and_cancelled_with_its_agreement() {
    let a = Agreement { start_date: date("2027-03-01"), ..seat() };
    assert_eq!(plan(&a, now())[0].status, InvoiceStatus::Scheduled);
    assert_eq!(a.invoice_due_at(), Some(start_instant(date("2027-03-01"))));
    let on_the_day = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    assert_eq!(plan(&a, on_the_day)[0].status, InvoiceStatus::Issued, "true at the moment of reading, before any sweep");
    let cancelled = Agreement { ended_on: Some(date("2027-02-01")), ..a };
    assert_eq!(plan(&cancelled, on_the_day)[0].status, InvoiceStatus::Cancelled);
    assert_eq!(cancelled.invoice_due_at(), None);
}

#[test]
fn a_schedules_invoices_add_up_to_its_agreement_to_the_cent() {
    let a = three_payments();
    let invoices = plan(&a, now());
    assert_eq!(
        invoices.iter().map(|i| i.status).collect::<Vec<_>>(),
        [InvoiceStatus::Issued, InvoiceStatus::Scheduled, InvoiceStatus::Scheduled]
    );
    let sum = |f: fn(&Disbursement) -> Decimal| invoices.iter().map(|i| f(&i.disbursement)).sum::<Decimal>();
    let total = &a.disbursement;
    assert_eq!(sum(|d| d.buyer_total), total.buyer_total);
    assert_eq!(sum(|d| d.isv_fee), total.isv_fee);
    assert_eq!(sum(|d| d.isv_net), total.isv_net);
    assert_eq!(sum(|d| d.reseller_fee), total.reseller_fee);
    assert_eq!(sum(|d| d.reseller_net), total.reseller_net);
    for i in &invoices {
        assert_eq!(parts(i).iter().sum::<Decimal>(), i.buyer_total);
    }
    // One cent of wholesale pays no fee of its own: its share rounds to nothing, never below.
    assert!(invoices[2].disbursement.isv_fee >= Decimal::ZERO);
    let ids: Vec<&str> = invoices.iter().map(|i| i.invoice_id.rsplit('-').next().unwrap()).collect();
    assert_eq!(ids, ["p01", "p02", "p03"]);
}

#[test]
fn a_cancelled_schedule_keeps_what_was_issued_and_cancels_the_rest() {
    let a = Agreement { ended_on: Some(date("2027-04-10")), ..three_payments() };
    let later = Utc.with_ymd_and_hms(2027, 8, 1, 0, 0, 0).unwrap();
    let status: Vec<InvoiceStatus> = plan(&a, later).iter().map(|i| i.status).collect();
    assert_eq!(status, [InvoiceStatus::Issued, InvoiceStatus::Issued, InvoiceStatus::Cancelled], "the day it was cancelled had come");
    let (recorded, issued) = issue_due(&a, later, 10);
    assert_eq!(issued.len(), 2);
    assert!(plan_due(&recorded, later, 10).is_empty());
    assert_eq!(recorded.invoice_due_at(), None, "nothing left to issue");
}

#[test]
fn usage_is_billed_by_calendar_month_at_six_the_morning_after() {
    let a = metered();
    assert_eq!(a.next_usage_period(), Some((date("2027-01-10"), date("2027-01-31"))));
    let due = Utc.with_ymd_and_hms(2027, 2, 1, 6, 0, 0).unwrap();
    assert_eq!(a.invoice_due_at(), Some(due));
    assert_eq!(usage_due(&a, due - Duration::milliseconds(1)), None, "late records may still come");
    assert!(plan(&a, now()).is_empty(), "usage only: no upfront invoice");
    let period = usage_due(&a, due).unwrap();
    let (billed, invoice) = bill_usage(&a, period, vec![Metered { dimension_key: "gb".into(), quantity: 2500 }]);
    let invoice = invoice.unwrap();
    assert_eq!((invoice.issue_date, invoice.buyer_total.to_string()), (date("2027-02-01"), "108.72".to_string()));
    assert_eq!(invoice.lines[0].buyer_rate.unwrap().to_string(), "0.04348631");
    assert_eq!(invoice.lines[0].wholesale_rate.unwrap().to_string(), "0.03882706");
    assert_eq!(parts(&invoice).iter().sum::<Decimal>(), invoice.buyer_total);
    assert_eq!(billed.next_usage_period(), Some((date("2027-02-01"), date("2027-02-28"))));
    assert_eq!(invoices(&billed, due).len(), 1);
    let (quiet, none) = bill_usage(&billed, (date("2027-02-01"), date("2027-02-28")), vec![]);
    assert!(none.is_none(), "no usage, no invoice");
    assert_eq!(quiet.billing.usage_through, Some(date("2027-02-28")));
}

#[test]
fn the_last_part_month_is_billed_the_morning_after_the_agreement_ends_early() {
    let mut a = metered();
    a.billing.usage_through = Some(date("2027-02-28"));
    a.ended_on = Some(date("2027-03-15"));
    assert_eq!(a.next_usage_period(), Some((date("2027-03-01"), date("2027-03-15"))));
    assert_eq!(a.invoice_due_at(), Some(Utc.with_ymd_and_hms(2027, 3, 16, 6, 0, 0).unwrap()));
    a.billing.usage_through = Some(date("2027-03-15"));
    assert_eq!(a.invoice_due_at(), None);
    let replaced = Agreement { replaced_on: Some(date("2027-06-01")), ended_on: None, ..metered() };
    assert_eq!(replaced.last_day(), date("2027-05-31"));
}

#[test]
fn invoice_ids_name_their_agreement_and_nothing_else_passes() {
    assert_eq!(agreement_of("inv-0123456789abcdef0123456789abcdef-p60").as_deref(), Some("agr-0123456789abcdef0123456789abcdef"));
    assert!(agreement_of("inv-0123456789abcdef0123456789abcdef-u202703").is_some());
    for bad in [
        "inv-0123456789abcdef0123456789abcdef-p00",
        "inv-0123-up",
        "inv-0123456789abcdef0123456789abcdef-x",
        "agr-0123456789abcdef0123456789abcdef",
        "inv-0123456789ABCDEF0123456789abcdef-up",
    ] {
        assert_eq!(agreement_of(bad), None, "{bad}");
    }
}

#[test]
fn the_buyer_sees_its_own_amounts_only() {
    let (billed, invoice) =
        bill_usage(&metered(), (date("2027-01-10"), date("2027-01-31")), vec![Metered { dimension_key: "gb".into(), quantity: 2500 }]);
    let buyer = billed.buyer_account_id.clone();
    for inv in [invoice.unwrap(), plan(&seat(), now()).remove(0)] {
        let text = inv.view(&buyer).to_string();
        for hidden in ["wholesale", "disbursement", "Fee", "Net", "markup", "nonRecurring"] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
        assert!(inv.view(&billed.isv_account_id).to_string().contains("wholesaleAmount"));
    }
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::USD), Just(Currency::EUR), Just(Currency::JPY)]
}

proptest! {
    #[test]
    fn every_schedule_splits_exactly_over_its_invoices(
        amounts in proptest::collection::vec(1i64..5_000_000_000, 1..60),
        markup_micro in 0i64..1_000_000_000,
        currency in currency(),
        renewal: bool,
    ) {
        let start = date("2027-02-01");
        let payments: Vec<Payment> = amounts
            .iter()
            .enumerate()
            .map(|(i, a)| Payment { amount: Decimal::new(*a, currency.minor_places()), invoice_date: start + Days::new(i as u64 * 30) })
            .collect();
        let pricing = price_schedule(&[], &payments, Decimal::new(markup_micro, 6), currency);
        let basis = FeeBasis { product_type: ProductType::SaasContract, renewal, buyer_total: pricing.buyer_total, channel_partner: true };
        let disbursement = disburse(&pricing, currency, basis, &FeeSchedule::default());
        let a = Agreement { pricing, disbursement, billing: Billing::default(), ..agreement() };
        let invoices = plan(&a, now());
        prop_assert_eq!(invoices.len(), payments.len());
        let mut sums = [Decimal::ZERO; 4];
        for i in &invoices {
            let p = parts(i);
            prop_assert_eq!(p.iter().sum::<Decimal>(), i.buyer_total);
            for (k, part) in p.iter().enumerate() {
                prop_assert!(*part >= Decimal::ZERO, "negative part {} in {:?}", part, i.disbursement);
                prop_assert!(part.scale() <= currency.minor_places());
                sums[k] += *part;
            }
        }
        let total = &a.disbursement;
        prop_assert_eq!(sums, [total.isv_net, total.isv_fee, total.reseller_net, total.reseller_fee]);
    }

    #[test]
    fn every_usage_invoice_splits_exactly(
        rates in proptest::collection::vec((1i64..100_000_000_000, 0i64..9_999), 1..6),
        quantities in proptest::collection::vec(0u64..2_147_483_647, 6),
        markup_micro in 0i64..1_000_000_000,
        currency in currency(),
    ) {
        let mut pricing = price(&[], Decimal::new(markup_micro, 6), currency);
        pricing.usage_rates = rates
            .iter()
            .enumerate()
            .map(|(i, (list, off))| {
                let list = Decimal::new(*list, 8);
                let wholesale = crate::pricing::wholesale_rate(list, Decimal::new(*off, 2));
                UsageRate::marked_up(&format!("d{i}"), list, wholesale, Decimal::new(markup_micro, 6))
            })
            .collect();
        let a = with_pricing(pricing, currency);
        let metered: Vec<Metered> = quantities.iter().enumerate().map(|(i, q)| Metered { dimension_key: format!("d{i}"), quantity: *q }).collect();
        let (_, invoice) = bill_usage(&a, (date("2027-01-10"), date("2027-01-31")), metered);
        if let Some(invoice) = invoice {
            prop_assert_eq!(parts(&invoice).iter().sum::<Decimal>(), invoice.buyer_total);
            prop_assert_eq!(invoice.lines.iter().map(|l| l.line_total).sum::<Decimal>(), invoice.buyer_total);
            for part in parts(&invoice) {
                prop_assert!(part >= Decimal::ZERO, "negative part {} in {:?}", part, invoice.disbursement);
                prop_assert!(part.scale() <= currency.minor_places());
            }
        }
    }
}
