use crate::opportunity::tests::{create_from, field_of, with, PRODUCT};
use serde_json::json;

fn individual(products: serde_json::Value) -> serde_json::Value {
    with("discount", json!({"type": "individual", "products": products}))
}

fn schedule(payments: serde_json::Value) -> serde_json::Value {
    let mut body = with(
        "discount",
        json!({"type": "flexiblePaymentSchedule", "contractMonths": 12, "units": [{"dimensionKey": "users", "units": 10}], "payments": payments}),
    );
    body["duration"] = json!({"type": "singleUse", "endDate": "2027-03-31"});
    body
}

#[test]
fn individual_pricing_takes_a_percentage_or_a_price_per_dimension() {
    let pct = create_from(individual(json!([{"productId": PRODUCT, "percentage": "25"}]))).unwrap().remove(0);
    let dims = &pct.wholesale.products[0].dimensions;
    assert_eq!(dims[0].wholesale_price.unwrap().to_string(), "75");
    let prices = json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "admins", "price": "0"}, {"dimensionKey": "users", "price": "100.00"}]}]);
    let custom = create_from(individual(prices)).unwrap().remove(0);
    let dims = &custom.wholesale.products[0].dimensions;
    assert_eq!((dims[0].wholesale_price.unwrap().to_string(), dims[1].wholesale_price.unwrap().to_string()), ("100.00".into(), "0".into()));
}

#[test]
fn individual_pricing_rules_name_their_field() {
    let price = |key: &str, p: &str| json!({"dimensionKey": key, "price": p});
    let cases = [
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [price("users", "100.01"), price("admins", "1")]}]),
            "discount.products[0].dimensionPrices[0].price",
        ),
        (json!([{"productId": PRODUCT, "dimensionPrices": []}]), "discount.products[0].dimensionPrices"),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "users", "price": "1", "name": "Users"}]}]),
            "discount.products[0].dimensionPrices[0].name",
        ),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "support", "price": "0", "name": "Support"}]}]),
            "discount.products[0].dimensionPrices[0].price",
        ),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "bad key", "price": "5", "name": "Support"}]}]),
            "discount.products[0].dimensionPrices[0].dimensionKey",
        ),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "support", "price": "5", "name": "Support", "kind": "metered"}]}]),
            "discount.products[0].dimensionPrices[0].kind",
        ),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [price("users", "1"), price("users", "2")]}]),
            "discount.products[0].dimensionPrices[1]",
        ),
        (
            json!([{"productId": PRODUCT, "dimensionPrices": [price("seats", "1"), price("admins", "1")]}]),
            "discount.products[0].dimensionPrices[0].dimensionKey",
        ),
        (json!([{"productId": PRODUCT, "percentage": "100"}]), "discount.products[0].percentage"),
        (json!([{"productId": PRODUCT}]), "discount.products[0]"),
        (json!([{"productId": "prod-ffffffffffffffffffffffffffffffff", "percentage": "5"}]), "discount.products[0].productId"),
        (json!([]), "discount.products"),
    ];
    for (products, want) in cases {
        assert_eq!(field_of(create_from(individual(products.clone())).unwrap_err()).as_deref(), Some(want), "{products}");
    }
}

#[test]
fn a_payment_schedule_carries_its_total_due_to_the_isv() {
    let o = create_from(schedule(
        json!([{"amount": "200.00", "invoiceDate": "2027-04-01"}, {"amount": "250.50", "invoiceDate": "2027-07-01"}]),
    ))
    .unwrap()
    .remove(0);
    assert_eq!(o.wholesale.total_due_to_isv.unwrap().to_string(), "450.50");
    assert_eq!(o.wholesale.contract_months, Some(12));
    let view = o.view(crate::opportunity::tests::now());
    assert_eq!(view["wholesale"]["payments"][1]["invoiceDate"], "2027-07-01");
    assert!(view["wholesale"]["products"][0]["dimensions"][0].get("wholesalePrice").is_none());
}

#[test]
fn payment_schedule_rules_name_their_field() {
    let pay = |amount: &str, date: &str| json!({"amount": amount, "invoiceDate": date});
    let cases = [
        (schedule(json!([pay("10", "2027-03-31")])), "discount.payments[0].invoiceDate"),
        (schedule(json!([pay("10", "2027-05-01"), pay("10", "2027-05-01")])), "discount.payments[1].invoiceDate"),
        (schedule(json!([pay("0", "2027-05-01")])), "discount.payments[0].amount"),
        (schedule(json!([pay("10.001", "2027-05-01")])), "discount.payments[0].amount"),
        (schedule(json!([])), "discount.payments"),
        (schedule(json!((0..61).map(|i| pay("1", &format!("{}-01-01", 2028 + i))).collect::<Vec<_>>())), "discount.payments"),
    ];
    for (body, want) in cases {
        assert_eq!(field_of(create_from(body.clone()).unwrap_err()).as_deref(), Some(want), "{body}");
    }
    let mut reusable = schedule(json!([pay("10", "2027-05-01")]));
    reusable["duration"] = json!({"type": "endDate", "endDate": "2027-03-31"});
    assert_eq!(field_of(create_from(reusable).unwrap_err()).as_deref(), Some("duration.type"));
    let mut no_end = schedule(json!([pay("10", "2027-05-01")]));
    no_end["duration"] = json!({"type": "singleUse"});
    assert_eq!(field_of(create_from(no_end).unwrap_err()).as_deref(), Some("duration.type"));
    let mut months = schedule(json!([pay("10", "2027-05-01")]));
    months["discount"]["contractMonths"] = json!(61);
    assert_eq!(field_of(create_from(months).unwrap_err()).as_deref(), Some("discount.contractMonths"));
    let mut units = schedule(json!([pay("10", "2027-05-01")]));
    units["discount"]["units"] = json!([{"dimensionKey": "users", "units": 0}]);
    assert_eq!(field_of(create_from(units).unwrap_err()).as_deref(), Some("discount.units[0].units"));
    let mut mixed = schedule(json!([pay("10", "2027-05-01")]));
    mixed["discount"]["percentage"] = json!("5");
    assert_eq!(field_of(create_from(mixed).unwrap_err()).as_deref(), Some("discount.percentage"));
}

#[test]
fn a_price_list_may_leave_dimensions_out_and_add_custom_ones_to_a_saas_contract() {
    let price = |key: &str, p: &str| json!({"dimensionKey": key, "price": p});
    let prices = json!([{"productId": PRODUCT, "dimensionPrices": [
        price("admins", "40"),
        {"dimensionKey": "premium-support", "name": "Premium support", "price": "250.00"},
    ]}]);
    let o = create_from(individual(prices)).unwrap().remove(0);
    let dims: Vec<(String, String, String, bool)> = o.wholesale.products[0]
        .dimensions
        .iter()
        .map(|d| (d.dimension_key.clone(), d.list_price.to_string(), d.wholesale_price.unwrap().to_string(), d.custom))
        .collect();
    assert_eq!(
        dims,
        [("admins".into(), "49.99".into(), "40".into(), false), ("premium-support".into(), "250.00".into(), "250.00".into(), true)],
        "users is left out; the custom dimension's list price is its price"
    );
}

#[test]
fn custom_dimensions_are_only_for_saas_contracts() {
    let mut body =
        individual(json!([{"productId": PRODUCT, "dimensionPrices": [{"dimensionKey": "extra", "name": "Extra", "price": "5"}]}]));
    body["productIds"] = json!([crate::opportunity::tests::AMI_PRODUCT]);
    body["discount"]["products"][0]["productId"] = json!(crate::opportunity::tests::AMI_PRODUCT);
    let err = create_from(body).unwrap_err();
    assert_eq!(field_of(err).as_deref(), Some("discount.products[0].dimensionPrices[0].name"));
}
