"""Makes django_forms.json: what Django 5.2's django.forms outputs (error messages, cleaned
values, ErrorDict.get_json_data, and the as_p / as_div / as_table / as_ul HTML, label_tag,
widgets) for handler-core's forms tests (handler-core/tests/django_forms.rs reads the JSON
with include_str!).

Run from the repository root with the bench's venv, which has Django 5.2:

    bench/.venv/bin/python handler-core/tests/vectors/make_forms_vectors.py

Settings: USE_TZ = False (handler-core has no time zones: DateTimeField's cleaned value is
naive), English, the default form renderer (DjangoTemplates, "django/forms/div.html").
The output is deterministic; commit both files.
"""

import datetime
import decimal
import json
import os
import sys
import warnings

# BoundField.css_classes joins a set: with both error_css_class and required_css_class the
# order hangs on str hashing. A fixed seed makes the file reproducible; with seed 0 it is
# "error required", the order handler-core writes (the order Django adds them in).
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(USE_TZ=False, USE_I18N=True, LANGUAGE_CODE="en-us")
django.setup()

# URLField's assume_scheme default ("http", warned about in 5.x) is what is captured.
warnings.simplefilter("ignore")

from django import forms  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import RegexValidator  # noqa: E402

FIELD_TYPES = {
    "CharField": forms.CharField,
    "IntegerField": forms.IntegerField,
    "DecimalField": forms.DecimalField,
    "EmailField": forms.EmailField,
    "URLField": forms.URLField,
    "BooleanField": forms.BooleanField,
    "ChoiceField": forms.ChoiceField,
    "DateField": forms.DateField,
    "DateTimeField": forms.DateTimeField,
}
WIDGETS = {
    "Textarea": forms.Textarea,
    "PasswordInput": forms.PasswordInput,
    "HiddenInput": forms.HiddenInput,
    "TextInput": forms.TextInput,
}


def make_field(spec):
    """A Django field from a spec: {"type": ..., plus keyword arguments; "widget" names a
    widget class; "choices" is a list of [value, label] pairs}."""
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    if "widget" in kwargs:
        kwargs["widget"] = WIDGETS[kwargs["widget"]]
    for k in ("min_value", "max_value"):
        if spec["type"] == "DecimalField" and k in kwargs:
            kwargs[k] = decimal.Decimal(kwargs[k])
    if "choices" in kwargs:
        kwargs["choices"] = [tuple(c) for c in kwargs["choices"]]
    return FIELD_TYPES[spec["type"]](**kwargs)


def py(value):
    """A cleaned value as JSON: str, int, bool and None as themselves, Decimal as str(),
    date and datetime as isoformat()."""
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    return value


def clean(spec, value):
    field = make_field(spec)
    try:
        return {"ok": py(field.clean(value))}
    except ValidationError as e:
        return {
            "errors": [
                {"message": m, "code": err.code or ""}
                for err in e.error_list
                for m in err
            ]
        }


# (spec, inputs): each input is cleaned by the field alone (Field.clean), as a form would
# with the value from the submitted data (None: the key was absent).
FIELD_CASES = [
    ({"type": "CharField"}, [None, "", "  ", " hi ", "a\x00b", "x" * 3]),
    ({"type": "CharField", "required": False}, [None, "", "  "]),
    ({"type": "CharField", "required": False, "empty_value": None}, ["", "  "]),
    ({"type": "CharField", "strip": False}, ["  ", " hi "]),
    (
        {"type": "CharField", "max_length": 5, "min_length": 2},
        ["a", "ab", "abcde", "abcdef", "  abcde  ", "é" * 6, "a\x00b" * 2],
    ),
    ({"type": "CharField", "max_length": 1, "min_length": 1}, ["ab", "a"]),
    ({"type": "CharField", "min_length": 1, "required": False}, ["", " "]),
    (
        {"type": "IntegerField"},
        [
            None, "", "0", "42", " 42 ", "-7", "+7", "4.0", "4.00 ", "4.5", "abc",
            "1e3", "1_000", "٣", "9223372036854775807", "", "0x10", "--1", "4.",
        ],
    ),
    (
        {"type": "IntegerField", "min_value": 0, "max_value": 150, "required": False},
        ["", "-1", "0", "150", "151"],
    ),
    (
        {"type": "DecimalField", "max_digits": 5, "decimal_places": 2},
        [
            "", "1", "1.5", "123.45", "1234.5", "0.001", "12345", "-1.25", " 2.50 ",
            "abc", "NaN", "Infinity", "1e2", "1E-2", "0.00", "000.10", "1_0.5", ".5",
            "5.", "+3.1", "1e400",
        ],
    ),
    (
        {"type": "DecimalField", "max_digits": 4, "decimal_places": 1,
         "min_value": "-10", "max_value": "100.5"},
        ["100.5", "100.6", "-10", "-10.1", "1.25"],
    ),
    ({"type": "DecimalField", "max_digits": 1, "decimal_places": 0}, ["12", "0.1"]),
    (
        {"type": "EmailField"},
        [
            "", "a@example.com", " a@example.com ", "A.B+c@Example.COM", "a@localhost",
            "a@b", "a@b.c", "a@-b.com", "a@b-.com", "a..b@example.com", ".a@example.com",
            "a.@example.com", "a@example..com", '"a b"@example.com', "a@[127.0.0.1]",
            "a@[::1]", "a@[IPv6:::1]", "a@[300.1.1.1]", "user@exämple.com",
            "üser@example.com", "a@xn--bcher-kva.ch", "a@example.com.", "abc",
            "a@b@example.com", "a@" + "x" * 64 + ".com", "a@" + "x" * 63 + ".com",
            "a@example.c0m", "a@example.123", "x" * 310 + "@example.com",
            "a@ex_ample.com", "a b@example.com", "a@example.com\n",
        ],
    ),
    (
        {"type": "URLField"},
        [
            "", "http://example.com", "https://example.com/path?q=1#frag",
            "example.com", "//example.com/x", "ftp://example.com", "ftps://example.com",
            "mailto:a@example.com", "http://localhost:8000/", "http://127.0.0.1/",
            "http://[::1]:80/", "http://[::zz]/", "http://[::1", "http://256.1.1.1/",
            "http://exämple.com/", "http://xn--bcher-kva.ch/", "http://user:pw@example.com/",
            "http://example", "http://-example.com/", "http://example-.com/",
            "http://a.b-.com", "http://example.com:99999/", "http://example.com:port/",
            "http://exa mple.com/", "http://example.com/ spaces", "http://example.com/\t",
            "http://" + "a" * 64 + ".com/", "http://" + ("a" * 60 + ".") * 5 + "com/",
            "http://example.com." , "http://.com", "http://example.c", "http://1.1.1.1.1",
            "HTTP://EXAMPLE.COM", "foo:bar", "1http://x.com", "http://example.com/" + "a" * 2040,
            "http://a.b/", "http://例子.测试/",
        ],
    ),
    ({"type": "URLField", "assume_scheme": "https"}, ["example.com", "//example.com"]),
    (
        {"type": "BooleanField"},
        [None, "", "on", "true", "True", "false", "False", "0", "1", "no"],
    ),
    ({"type": "BooleanField", "required": False}, [None, "", "false", "on"]),
    (
        {"type": "ChoiceField",
         "choices": [["", "---------"], ["r", "Red"], ["g", "Green"]]},
        [None, "", "r", "g", "b", "<b>", "R"],
    ),
    (
        {"type": "ChoiceField", "required": False, "choices": [["r", "Red"]]},
        ["", "x"],
    ),
    (
        {"type": "DateField"},
        [
            "", "2024-02-29", "2023-02-29", "02/29/2024", "2/9/2024", "12/31/99",
            "01/01/68", "01/01/69", "Oct 25 2006", "oct 25, 2006", "25 Oct 2006",
            "25 Oct, 2006", "October 25 2006", "October 25, 2006", "25 October 2006",
            "25 October, 2006", " 2024-01-05 ", "2024-1-5", "2024/01/05", "yesterday",
            "2024-01-05T10:00", "0001-01-01", "9999-12-31", "10000-01-01", "2024-13-01",
            "2024-01-32", "Sept 5 2024", "2024-01-05 ",
        ],
    ),
    (
        {"type": "DateTimeField"},
        [
            "", "2024-01-05 10:30:00", "2024-01-05 10:30", "2024-01-05 10:30:00.5",
            "2024-01-05 10:30:00.123456", "2024-01-05T10:30:00", "2024-01-05T10:30",
            "2024-01-05", "01/05/2024 10:30:00", "01/05/2024 10:30", "01/05/24 10:30",
            "01/05/2024", "2024-01-05 25:00", "2024-01-05T10:30:00Z",
            "2024-01-05T10:30:00+02:00", "2024-01-05 10:30:00,5", "garbage",
            "2024-01-05 10:30:60", "2024-02-30 10:00", "2024-01-05 1:2:3",
            "Jan 5 2024", "2024-01-05T10", "2024-01-05 10:30:00.1234567",
        ],
    ),
]


class Everything(forms.Form):
    """A form with every field type and widget handler-core has, for the rendering tests."""

    name = forms.CharField(max_length=20, min_length=2, help_text="Your <b>name</b>")
    age = forms.IntegerField(min_value=0, max_value=150, required=False)
    price = forms.DecimalField(max_digits=5, decimal_places=2, initial=decimal.Decimal("9.99"))
    email = forms.EmailField(label="E-mail")
    website = forms.URLField(required=False)
    agree = forms.BooleanField()
    color = forms.ChoiceField(
        choices=[("", "---------"), ("r", "Red"), ("g", "Green & <Blue>")]
    )
    birthday = forms.DateField(required=False)
    meeting = forms.DateTimeField(required=False, initial=datetime.datetime(2024, 1, 5, 9, 30, 15, 500))
    bio = forms.CharField(widget=forms.Textarea, required=False, max_length=500)
    password = forms.CharField(widget=forms.PasswordInput)
    token = forms.CharField(widget=forms.HiddenInput, required=False, initial="t<1>")
    nickname = forms.CharField(required=False, disabled=True, initial="nick")
    what_is_this = forms.CharField(required=False, label="Really?")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name.lower() == "admin":
            raise ValidationError("“%(name)s” is reserved.", code="reserved", params={"name": name})
        return name.title()

    def clean(self):
        data = super().clean()
        if data.get("age") is not None and data.get("age") < 18 and data.get("agree"):
            raise ValidationError("Minors cannot agree & <sign>.", code="minor")
        if data.get("bio") == "hidden-error":
            self.add_error("token", "Bad token.")
        return data


class Small(forms.Form):
    """Only hidden fields (div.html's "no visible fields" branches)."""

    a = forms.CharField(widget=forms.HiddenInput)
    b = forms.CharField(widget=forms.HiddenInput, required=False)


class Styled(forms.Form):
    """Form options and field options the Everything form leaves at their defaults."""

    error_css_class = "error"
    required_css_class = "required"

    code = forms.CharField(
        max_length=4,
        error_messages={"required": "Give a code.", "max_length": "Too long: %(show_value)d."},
        validators=[RegexValidator(r"^[A-Z]+$", "Capitals only.", "caps")],
        widget=forms.TextInput(attrs={"class": "mono", "placeholder": "ABC & <co>"}),
        label_suffix=" =",
    )
    level = forms.ChoiceField(choices=[("1", "One"), ("2", "Two")])
    steps = forms.IntegerField(min_value=1, step_size=3, required=False)
    ratio = forms.DecimalField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), required=False)
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": "3"}), required=False, help_text="Plain <i>text</i>"
    )
    when = forms.DateField(required=False, widget=forms.DateInput(format="%d/%m/%Y"))


def render_all(form):
    return {
        "as_div": str(form.as_div()),
        "as_p": str(form.as_p()),
        "as_table": str(form.as_table()),
        "as_ul": str(form.as_ul()),
        "str": str(form),
    }


def bound_fields(form):
    out = {}
    for bf in form:
        out[bf.name] = {
            "label_tag": str(bf.label_tag()),
            "widget": str(bf),
            "errors": str(bf.errors),
            "id_for_label": bf.id_for_label,
            "auto_id": bf.auto_id,
            "label": str(bf.label),
            "help_text": str(bf.help_text),
            "value": py(bf.value()) if not isinstance(bf.value(), list) else bf.value(),
            "as_field_group": str(bf.as_field_group()),
            "css_classes": bf.css_classes(),
        }
    return out


def form_case(cls, data, **kwargs):
    form = cls(data, **kwargs) if data is not None else cls(**kwargs)
    case = {"data": data, "kwargs": json.loads(json.dumps(kwargs, default=py)), "is_bound": form.is_bound}
    case["is_valid"] = form.is_valid()
    case["errors"] = form.errors.get_json_data()
    case["errors_as_json"] = form.errors.as_json()
    case["errors_html"] = str(form.errors)
    case["errors_text"] = form.errors.as_text()
    case["non_field_errors"] = str(form.non_field_errors())
    case["non_field_errors_text"] = form.non_field_errors().as_text()
    if form.is_bound:
        case["cleaned_data"] = {k: py(v) for k, v in form.cleaned_data.items()}
        case["has_changed"] = form.has_changed()
        case["changed_data"] = form.changed_data
    case["html"] = render_all(form)
    case["fields"] = bound_fields(form)
    return case


VALID = {
    "name": "  ada lovelace ",
    "age": "36",
    "price": "12.50",
    "email": "ada@example.com",
    "website": "example.com/engine",
    "agree": "on",
    "color": "g",
    "birthday": "12/10/1815",
    "meeting": "1843-07-01 10:00",
    "bio": "Wrote <the> first \"program\" & more",
    "password": "s3cret",
    "token": "tok",
    "nickname": "ignored: disabled",
    "what_is_this": "",
}

INVALID = {
    "name": "a",
    "age": "-3",
    "price": "1234.567",
    "email": "not an email",
    "website": "http://exa mple.com",
    "color": "<script>",
    "birthday": "1815-13-10",
    "meeting": "soon",
    "bio": "x" * 501,
    "password": "",
    "token": "",
}

FORM_CASES = {
    "unbound": form_case(Everything, None),
    "unbound_prefixed_no_auto_id": form_case(Everything, None, prefix="p", auto_id=False),
    "unbound_initial": form_case(
        Everything, None, initial={"name": "Init <x>", "agree": True, "color": "r", "age": 5}
    ),
    "valid": form_case(Everything, VALID),
    "invalid": form_case(Everything, INVALID),
    "empty": form_case(Everything, {}),
    "reserved_name_and_minor": form_case(
        Everything, {**VALID, "name": "Admin", "age": "12"}
    ),
    "hidden_field_error": form_case(Everything, {**VALID, "bio": "hidden-error"}),
    "auto_id_pattern": form_case(Everything, {**VALID, "email": "x"}, auto_id="f_%s"),
    "small_unbound": form_case(Small, None),
    "small_invalid": form_case(Small, {"b": "x"}),
    "small_valid": form_case(Small, {"a": "1"}),
    "styled_unbound": form_case(
        Styled, None, initial={"when": datetime.date(2024, 3, 9)}, label_suffix="!"
    ),
    "styled_invalid": form_case(
        Styled,
        {"code": "abcde", "level": "3", "steps": "5", "ratio": "x", "secret": "s<", "notes": "n"},
    ),
    "styled_required": form_case(Styled, {"code": " ", "steps": "7", "ratio": "1e-3"}),
    "styled_valid": form_case(
        Styled, {"code": "AB", "level": "2", "steps": "4", "when": "2024-03-09"}
    ),
    "unchanged_initial": form_case(
        Everything,
        {"price": "9.99", "meeting": "2024-01-05 09:30:15", "token": "t<1>", "color": ""},
    ),
}


def main():
    out = {
        "django": django.get_version(),
        "fields": [
            {"spec": spec, "cases": [{"input": v, **clean(spec, v)} for v in inputs]}
            for spec, inputs in FIELD_CASES
        ],
        "forms": FORM_CASES,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_forms.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
