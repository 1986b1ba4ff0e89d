//! handler-core's forms against Django 5.2's own output (`vectors/make_forms_vectors.py`,
//! committed as `vectors/django_forms.json`): each field type's cleaned value or messages
//! and codes for the same inputs, and for a form with every field type, bound and unbound,
//! its errors (`get_json_data`, `as_json`, `as_ul`, `as_text`), `cleaned_data`,
//! `changed_data`, each BoundField (label_tag, widget, errors, ids, field group) and the
//! `as_div` / `as_p` / `as_table` / `as_ul` HTML, compared byte for byte.

use handler_core::forms::*;
use serde_json::{json, Value};

const VECTORS: &str = include_str!("vectors/django_forms.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors/django_forms.json is JSON")
}

/// A field from the script's spec, as `make_field` builds Django's.
fn field_from_spec(spec: &Value) -> Field {
    let o = spec.as_object().unwrap();
    let ty = o["type"].as_str().unwrap();
    let mut f: Field = match ty {
        "CharField" => {
            let mut b = CharField::new();
            if let Some(v) = o.get("strip") {
                b = b.strip(v.as_bool().unwrap());
            }
            if let Some(v) = o.get("empty_value") {
                b = b.empty_value(if v.is_null() {
                    FormValue::None
                } else {
                    FormValue::from(v.as_str().unwrap())
                });
            }
            b.into()
        }
        "IntegerField" => {
            let mut b = IntegerField::new();
            if let Some(v) = o.get("min_value") {
                b = b.min_value(v.as_i64().unwrap());
            }
            if let Some(v) = o.get("max_value") {
                b = b.max_value(v.as_i64().unwrap());
            }
            b.into()
        }
        "DecimalField" => {
            let mut b = DecimalField::new();
            if let Some(v) = o.get("max_digits") {
                b = b.max_digits(v.as_u64().unwrap() as u32);
            }
            if let Some(v) = o.get("decimal_places") {
                b = b.decimal_places(v.as_u64().unwrap() as u32);
            }
            if let Some(v) = o.get("min_value") {
                b = b.min_value(v.as_str().unwrap().parse().unwrap());
            }
            if let Some(v) = o.get("max_value") {
                b = b.max_value(v.as_str().unwrap().parse().unwrap());
            }
            b.into()
        }
        "EmailField" => EmailField::new().into(),
        "URLField" => {
            let mut b = URLField::new();
            if let Some(v) = o.get("assume_scheme") {
                b = b.assume_scheme(v.as_str().unwrap());
            }
            b.into()
        }
        "BooleanField" => BooleanField::new().into(),
        "ChoiceField" => ChoiceField::new(o["choices"].as_array().unwrap().iter().map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap().to_string(),
            )
        }))
        .into(),
        "DateField" => DateField::new().into(),
        "DateTimeField" => DateTimeField::new().into(),
        other => panic!("unknown field type {other}"),
    };
    if let Some(v) = o.get("required") {
        f.required = v.as_bool().unwrap();
    }
    if let FieldKind::Char(c) | FieldKind::Email(c) | FieldKind::Url(c, _) = &mut f.kind {
        if let Some(v) = o.get("max_length") {
            c.max_length = Some(v.as_u64().unwrap() as usize);
        }
        if let Some(v) = o.get("min_length") {
            c.min_length = Some(v.as_u64().unwrap() as usize);
        }
    }
    f
}

/// A cleaned value as the script writes it (`py()`).
fn py(v: &FormValue) -> Value {
    match v {
        FormValue::None => Value::Null,
        FormValue::Str(s) => json!(s),
        FormValue::Int(i) => json!(i),
        FormValue::Bool(b) => json!(b),
        FormValue::Decimal(d) => json!({"decimal": d.to_string()}),
        FormValue::Date(_) => json!({"date": v.isoformat()}),
        FormValue::DateTime(_) | FormValue::DateTimeTz(_) => json!({"datetime": v.isoformat()}),
    }
}

#[test]
fn each_field_cleans_as_django_does() {
    let all = vectors();
    assert_eq!(
        all["django"]
            .as_str()
            .unwrap()
            .split('.')
            .take(2)
            .collect::<Vec<_>>(),
        ["5", "2"]
    );
    let mut failures = Vec::new();
    let mut n = 0;
    for group in all["fields"].as_array().unwrap() {
        let field = field_from_spec(&group["spec"]);
        for case in group["cases"].as_array().unwrap() {
            n += 1;
            let input = match &case["input"] {
                Value::Null => FormValue::None,
                v => FormValue::from(v.as_str().unwrap()),
            };
            let got = match field.clean(&input) {
                Ok(v) => json!({"ok": py(&v)}),
                Err(e) => json!({"errors": e.errors().iter().map(|e| json!({
                    "message": e.text(),
                    "code": e.code.clone().unwrap_or_default(),
                })).collect::<Vec<_>>()}),
            };
            let mut want = case.clone();
            want.as_object_mut().unwrap().remove("input");
            if got != want {
                failures.push(format!(
                    "{} {:?}: got {got}, Django {want}",
                    group["spec"], case["input"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn everything() -> Form {
    Form::new("Everything")
        .field(
            "name",
            CharField::new()
                .max_length(20)
                .min_length(2)
                .help_text("Your <b>name</b>"),
        )
        .field(
            "age",
            IntegerField::new()
                .min_value(0)
                .max_value(150)
                .required(false),
        )
        .field(
            "price",
            DecimalField::new()
                .max_digits(5)
                .decimal_places(2)
                .initial("9.99".parse::<Decimal>().unwrap()),
        )
        .field("email", EmailField::new().label("E-mail"))
        .field("website", URLField::new().required(false))
        .field("agree", BooleanField::new())
        .field(
            "color",
            ChoiceField::new([("", "---------"), ("r", "Red"), ("g", "Green & <Blue>")]),
        )
        .field("birthday", DateField::new().required(false))
        .field(
            "meeting",
            DateTimeField::new().required(false).initial(
                chrono::NaiveDate::from_ymd_opt(2024, 1, 5)
                    .unwrap()
                    .and_hms_micro_opt(9, 30, 15, 500)
                    .unwrap(),
            ),
        )
        .field(
            "bio",
            CharField::new()
                .widget(Widget::Textarea())
                .required(false)
                .max_length(500),
        )
        .field("password", CharField::new().widget(Widget::PasswordInput()))
        .field(
            "token",
            CharField::new()
                .widget(Widget::HiddenInput())
                .required(false)
                .initial("t<1>"),
        )
        .field(
            "nickname",
            CharField::new()
                .required(false)
                .disabled(true)
                .initial("nick"),
        )
        .field(
            "what_is_this",
            CharField::new().required(false).label("Really?"),
        )
        .clean_field("name", |_form, value| {
            let name = value.to_python_str();
            if name.to_lowercase() == "admin" {
                return Err(
                    ValidationError::with_code("“%(name)s” is reserved.", "reserved")
                        .param("name", &name),
                );
            }
            // Python's str.title() for these ASCII words.
            let titled: Vec<String> = name
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_uppercase()
                            .chain(c.flat_map(char::to_lowercase))
                            .collect()
                    })
                })
                .collect();
            Ok(FormValue::from(titled.join(" ")))
        })
        .clean(|form| {
            let age: Option<i64> = form.cleaned::<Option<i64>>("age").flatten();
            if age.is_some_and(|a| a < 18) && form.cleaned::<bool>("agree") == Some(true) {
                return Err(ValidationError::with_code(
                    "Minors cannot agree & <sign>.",
                    "minor",
                ));
            }
            if form.cleaned::<String>("bio").as_deref() == Some("hidden-error") {
                form.add_error(Some("token"), "Bad token.").unwrap();
            }
            Ok(())
        })
}

fn small() -> Form {
    Form::new("Small")
        .field("a", CharField::new().widget(Widget::HiddenInput()))
        .field(
            "b",
            CharField::new()
                .widget(Widget::HiddenInput())
                .required(false),
        )
}

fn styled() -> Form {
    Form::new("Styled")
        .error_css_class("error")
        .required_css_class("required")
        .field(
            "code",
            CharField::new()
                .max_length(4)
                .error_message("required", "Give a code.")
                .error_message("max_length", "Too long: %(show_value)d.")
                .validator(Validator::regex("^[A-Z]+$", "Capitals only.", "caps").unwrap())
                .widget(
                    Widget::TextInput()
                        .attr("class", "mono")
                        .attr("placeholder", "ABC & <co>"),
                )
                .label_suffix(" ="),
        )
        .field("level", ChoiceField::new([("1", "One"), ("2", "Two")]))
        .field(
            "steps",
            IntegerField::new()
                .min_value(1)
                .step_size(3)
                .required(false),
        )
        .field("ratio", DecimalField::new().required(false))
        .field(
            "secret",
            CharField::new()
                .widget(Widget::PasswordInput().render_value(true))
                .required(false),
        )
        .field(
            "notes",
            CharField::new()
                .widget(Widget::Textarea().attr("rows", "3"))
                .required(false)
                .help_text("Plain <i>text</i>"),
        )
        .field(
            "when",
            DateField::new()
                .required(false)
                .widget(Widget::DateInput().format("%d/%m/%Y")),
        )
}

fn build(case_name: &str, case: &Value) -> Form {
    let mut form = if case_name.starts_with("small") {
        small()
    } else if case_name.starts_with("styled") {
        styled()
    } else {
        everything()
    };
    if let Some(s) = case["kwargs"].get("label_suffix") {
        form = form.label_suffix(s.as_str().unwrap());
    }
    let kwargs = &case["kwargs"];
    if let Some(p) = kwargs.get("prefix") {
        form = form.prefix(p.as_str().unwrap());
    }
    match kwargs.get("auto_id") {
        Some(Value::Bool(false)) => form = form.auto_id(""),
        Some(Value::String(s)) => form = form.auto_id(s),
        _ => {}
    }
    if let Some(init) = kwargs.get("initial") {
        form = form.initial(init.as_object().unwrap().iter().map(|(k, v)| {
            let v = match v {
                Value::Bool(b) => FormValue::Bool(*b),
                Value::Number(n) => FormValue::Int(n.as_i64().unwrap()),
                Value::String(s) => FormValue::from(s.as_str()),
                Value::Object(o) if o.contains_key("date") => FormValue::Date(
                    o["date"]
                        .as_str()
                        .unwrap()
                        .parse::<chrono::NaiveDate>()
                        .unwrap(),
                ),
                _ => FormValue::None,
            };
            (k.clone(), v)
        }));
    }
    if let Some(data) = case["data"].as_object() {
        let pairs: Vec<(String, String)> = data
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        form = form.bind(&pairs);
    }
    form
}

#[test]
fn forms_validate_and_render_as_django_does() {
    let all = vectors();
    let mut failures = Vec::new();
    for (case_name, case) in all["forms"].as_object().unwrap() {
        let form = build(case_name, case);
        let mut check = |what: &str, got: Value, want: &Value| {
            if &got != want {
                failures.push(format!(
                    "{case_name}.{what}:\n--- handler-core\n{}\n--- Django\n{}",
                    got.as_str().map_or(got.to_string(), str::to_string),
                    want.as_str().map_or(want.to_string(), str::to_string)
                ));
            }
        };
        check("is_bound", json!(form.is_bound()), &case["is_bound"]);
        check("is_valid", json!(form.is_valid()), &case["is_valid"]);
        check(
            "errors",
            form.errors().get_json_data(false),
            &case["errors"],
        );
        check(
            "errors_as_json",
            json!(form.errors().as_json(false)),
            &case["errors_as_json"],
        );
        check(
            "errors_html",
            json!(form.errors().as_ul()),
            &case["errors_html"],
        );
        check(
            "errors_text",
            json!(form.errors().as_text()),
            &case["errors_text"],
        );
        check(
            "non_field_errors",
            json!(form.non_field_errors().to_string()),
            &case["non_field_errors"],
        );
        check(
            "non_field_errors_text",
            json!(form.non_field_errors().as_text()),
            &case["non_field_errors_text"],
        );
        if form.is_bound() {
            let cleaned: serde_json::Map<String, Value> = form
                .cleaned_data()
                .iter()
                .map(|(k, v)| (k.to_string(), py(v)))
                .collect();
            check(
                "cleaned_data",
                Value::Object(cleaned),
                &case["cleaned_data"],
            );
            check(
                "has_changed",
                json!(form.has_changed()),
                &case["has_changed"],
            );
            check(
                "changed_data",
                json!(form.changed_data()),
                &case["changed_data"],
            );
        }
        let html = &case["html"];
        check("as_div", json!(form.as_div()), &html["as_div"]);
        check("as_p", json!(form.as_p()), &html["as_p"]);
        check("as_table", json!(form.as_table()), &html["as_table"]);
        check("as_ul", json!(form.as_ul()), &html["as_ul"]);
        check("str", json!(form.to_string()), &html["str"]);
        for (name, want) in case["fields"].as_object().unwrap() {
            let bf = form.bound_field(name).unwrap();
            check(
                &format!("{name}.label_tag"),
                json!(bf.label_tag()),
                &want["label_tag"],
            );
            check(
                &format!("{name}.widget"),
                json!(bf.as_widget()),
                &want["widget"],
            );
            check(
                &format!("{name}.errors"),
                json!(bf.errors().to_string()),
                &want["errors"],
            );
            check(
                &format!("{name}.id_for_label"),
                json!(bf.id_for_label()),
                &want["id_for_label"],
            );
            check(
                &format!("{name}.auto_id"),
                json!(bf.auto_id()),
                &want["auto_id"],
            );
            check(&format!("{name}.label"), json!(bf.label()), &want["label"]);
            check(
                &format!("{name}.help_text"),
                json!(bf.help_text()),
                &want["help_text"],
            );
            check(
                &format!("{name}.as_field_group"),
                json!(bf.as_field_group()),
                &want["as_field_group"],
            );
            check(
                &format!("{name}.css_classes"),
                json!(bf.css_classes()),
                &want["css_classes"],
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
