use super::*;
use serde_json::json;

fn declared() -> BTreeMap<String, VariableSpec> {
    serde_json::from_value(json!({
        "top_n": {"type": "number", "default": 10},
        "since": {"type": "date"},
        "region": {"type": "text", "default": "seoul"},
        "carriers": {"type": "list", "default": []}
    }))
    .unwrap()
}

#[test]
fn given_values_are_typed_and_the_rest_take_their_defaults() {
    let given = parse_assignments(&["since=2026-11-01".into(), "carriers=a, b".into()]).unwrap();
    let variables = resolve(&declared(), &given).unwrap();
    assert_eq!(variables["top_n"], VariableValue::Number(10.0));
    assert_eq!(
        variables["since"],
        VariableValue::Date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
    );
    assert_eq!(
        variables["carriers"],
        VariableValue::List(vec!["a".into(), "b".into()])
    );
    assert_eq!(variables["region"], VariableValue::Text("seoul".into()));
}

#[test]
fn bad_variables_are_refused_in_one_line_that_says_what_to_write() {
    let with = |pairs: &[&str]| {
        let pairs: Vec<String> = pairs.iter().map(|p| p.to_string()).collect();
        parse_assignments(&pairs).and_then(|given| resolve(&declared(), &given))
    };
    let typo = with(&["top_m=3", "since=2026-11-01"]).unwrap_err();
    assert!(typo.contains("did you mean top_n?"), "{typo}");
    let wrong = with(&["top_n=many", "since=2026-11-01"]).unwrap_err();
    assert!(wrong.contains("variable top_n is a number"), "{wrong}");
    let date = with(&["since=01/11/2026"]).unwrap_err();
    assert!(date.contains("write it as 2026-11-01"), "{date}");
    let missing = with(&[]).unwrap_err();
    assert!(missing.contains("since (date) has no default"), "{missing}");
    assert!(with(&["since"]).unwrap_err().contains("name=value"));
    assert!(with(&["Top=1"]).unwrap_err().contains("lower-case"));
    for message in [typo, wrong, date, missing] {
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn values_become_parameters_never_sql_text() {
    let mut variables = Variables::new();
    variables.insert(
        "region".into(),
        VariableValue::Text("x'; DROP TABLE marts.search_top; --".into()),
    );
    variables.insert("top_n".into(), VariableValue::Number(5.0));
    variables.insert(
        "carriers".into(),
        VariableValue::List(vec!["CJ".into(), "Hanjin".into()]),
    );
    variables.insert("none".into(), VariableValue::List(vec![]));
    let bound = bind_variables(
        "SELECT * FROM t WHERE region = {var.region} AND n <= {var.top_n} AND c IN {var.carriers} AND d IN {var.none} AND again = {var.region}",
        &variables,
    )
    .unwrap();
    assert_eq!(
        bound.render(Placeholders::Colon),
        "SELECT * FROM t WHERE region = :var_region AND n <= CAST(:var_top_n AS DOUBLE PRECISION) AND c IN (:var_carriers_0, :var_carriers_1) AND d IN (NULL) AND again = :var_region"
    );
    assert_eq!(
        bound.render(Placeholders::Numbered),
        "SELECT * FROM t WHERE region = $1 AND n <= CAST($2 AS DOUBLE PRECISION) AND c IN ($3, $4) AND d IN (NULL) AND again = $1"
    );
    let names: Vec<&str> = bound.parameters().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "var_region",
            "var_top_n",
            "var_carriers_0",
            "var_carriers_1"
        ]
    );
    assert!(!bound.render(Placeholders::Dollar).contains("DROP"));
    let unknown = bind_variables("SELECT {var.nope}", &variables).unwrap_err();
    assert!(unknown.contains("{var.nope}"), "{unknown}");
}

#[test]
fn values_keep_their_type_through_the_job() {
    let value = VariableValue::Date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    let text = serde_json::to_value(&value).unwrap();
    assert_eq!(text, json!({"type": "date", "value": "2026-11-01"}));
    assert_eq!(
        serde_json::from_value::<VariableValue>(text).unwrap(),
        value
    );
}

/// The Data API refuses an empty parameter value: an empty text variable is written as `''`
/// and only the others stay bound.
#[test]
fn empty_values_are_inlined_as_empty_literals_and_the_rest_stay_bound() {
    let mut variables = Variables::new();
    variables.insert("region".into(), VariableValue::Text(String::new()));
    variables.insert("city".into(), VariableValue::Text("Seoul".into()));
    variables.insert(
        "carriers".into(),
        VariableValue::List(vec!["CJ".into(), String::new()]),
    );
    let bound = bind_variables(
        "SELECT 1 WHERE r = {var.region} AND c = {var.city} AND k IN {var.carriers}",
        &variables,
    )
    .unwrap()
    .with_empty_values_inlined();
    assert_eq!(
        bound.render(Placeholders::Colon),
        "SELECT 1 WHERE r = '' AND c = :var_city AND k IN (:var_carriers_0, '')"
    );
    assert!(bound.parameters().iter().all(|p| !p.value.is_empty()));
    assert_eq!(bound.parameters().len(), 2);
}
