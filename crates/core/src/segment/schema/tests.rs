//! The day's columns: names, types, widening, merging and the limits.

use super::*;
use serde_json::json;

#[test]
fn event_tables_are_snake_case_and_clear_of_the_call_tables() {
    let (tables, notes) = event_tables([
        "Product Viewed",
        "Checkout Step 2 — Viewed!",
        "Pages",
        "注文完了",
    ]);
    assert_eq!(tables["Product Viewed"], "product_viewed");
    assert_eq!(
        tables["Checkout Step 2 — Viewed!"],
        "checkout_step_2_viewed"
    );
    assert!(tables["Pages"].starts_with("pages_"), "{tables:?}");
    assert!(
        tables["注文完了"].starts_with("zhu_wen_wan_liao_"),
        "{tables:?}"
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
}

#[test]
fn types_widen_and_conflicts_fall_back_to_text() {
    let mut columns = PropertyColumns::default();
    columns.observe(
        json!({"qty": 1, "price": 3, "sku": "a", "gift": null, "cart": {"size": 2}})
            .as_object()
            .unwrap(),
    );
    columns.observe(
        json!({"qty": 2, "price": 3.5, "sku": 7, "gift": true})
            .as_object()
            .unwrap(),
    );
    let kinds: Vec<_> = columns.columns().collect();
    assert_eq!(
        kinds,
        vec![
            ("cart.size", ColumnKind::Int),
            ("gift", ColumnKind::Bool),
            ("price", ColumnKind::Float),
            ("qty", ColumnKind::Int),
            ("sku", ColumnKind::Text),
        ]
    );
    assert_eq!(
        columns.conflict_notes(),
        vec!["property \"sku\" had values of types integer, text and is stored as text"]
    );
}

#[test]
fn merging_files_gives_the_same_types_in_any_order() {
    let mut a = PropertyColumns::default();
    a.observe(json!({"v": 1}).as_object().unwrap());
    let mut b = PropertyColumns::default();
    b.observe(json!({"v": "x"}).as_object().unwrap());
    let mut ab = a.clone();
    ab.merge(&b);
    let mut ba = b.clone();
    ba.merge(&a);
    assert_eq!(
        ab.columns().collect::<Vec<_>>(),
        ba.columns().collect::<Vec<_>>()
    );
    assert_eq!(ab.conflict_notes(), ba.conflict_notes());
}

#[test]
fn a_full_table_keeps_the_first_names_in_name_order_whatever_the_files_order() {
    let limit = 3;
    let file = |names: &[&str]| {
        let mut columns = PropertyColumns::default();
        for name in names {
            columns.observe_within(json!({ *name: 1 }).as_object().unwrap(), limit);
        }
        columns
    };
    let a = file(&["e", "d", "a"]);
    let b = file(&["c", "f", "b"]);
    let mut ab = a.clone();
    ab.merge_within(&b, limit);
    let mut ba = b.clone();
    ba.merge_within(&a, limit);
    let sorted = |c: &PropertyColumns| {
        let mut names: Vec<String> = c.columns().map(|(n, _)| n.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(sorted(&ab), ["a", "b", "c"]);
    assert_eq!(sorted(&ba), ["a", "b", "c"]);
    assert_eq!(ab.cut_note(limit), ba.cut_note(limit));
    assert!(
        ab.cut_note(limit)
            .unwrap()
            .starts_with("3 properties beyond the 3")
    );
}

#[test]
fn property_columns_survive_being_kept_as_json() {
    let mut columns = PropertyColumns::default();
    columns.observe(
        json!({"v": 1, "w": null, "x": {"y": true}})
            .as_object()
            .unwrap(),
    );
    columns.observe(json!({"v": "text", "z": 2.5}).as_object().unwrap());
    let kept: PropertyColumns =
        serde_json::from_value(serde_json::to_value(&columns).unwrap()).unwrap();
    assert_eq!(
        kept.columns().collect::<Vec<_>>(),
        columns.columns().collect::<Vec<_>>()
    );
    assert_eq!(kept.conflict_notes(), columns.conflict_notes());
    let mut merged = kept.clone();
    merged.observe(json!({"w": 3}).as_object().unwrap());
    assert_eq!(
        merged.columns().count(),
        4,
        "the index was rebuilt: no column twice"
    );
}

#[test]
fn properties_never_shadow_common_or_partition_columns_nor_one_another() {
    let mut properties = PropertyColumns::default();
    properties.observe(
        json!({"timestamp": "x", "event": "y", "dt": 1, "a_b": 1, "a": {"b": 2}, "A": 3, "注文": 4, "金額": 5})
            .as_object()
            .unwrap(),
    );
    let table = TableColumns::for_event(&properties, vec![]);
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert_eq!(table.properties.len(), 8);
    assert_eq!(names[table.properties["a_b"]], "a_b");
    assert_ne!(names[table.properties["a.b"]], "a_b");
    assert_ne!(names[table.properties["dt"]], "dt");
    assert_eq!(table.notes.len(), 6, "{:?}", table.notes);
}
