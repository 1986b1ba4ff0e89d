//! A form in a view, through the test Client and the whole middleware chain: GET shows the
//! empty form with the CSRF field, a bad POST re-renders it with the input kept and Django's
//! messages, a good POST redirects (the guestbook's flow, issue 18).

use handler_core::prelude::*;
use handler_core::test::Client;

handler_core::form! {
    struct EntryForm {
        name: CharField::new().max_length(20),
        message: CharField::new().max_length(30).widget(Widget::Textarea()),
    }
}

#[derive(serde::Serialize)]
struct Page {
    form: EntryForm,
    title: &'static str,
}

fn entries(request: &mut HttpRequest) -> ViewResult {
    let form = if request.method == "POST" {
        let form = EntryForm::bind(request.POST()?);
        if form.is_valid() {
            let name: String = form.cleaned("name").unwrap_or_default();
            return HttpResponseRedirect::new(&format!("/?by={name}"));
        }
        form
    } else {
        EntryForm::new()
    };
    // A plain Serialize struct carries the form into the template as the live object (so
    // does minijinja's context!; serde_json's json! would flatten it).
    render(
        request,
        "entries.html",
        Page {
            form,
            title: "Entries",
        },
    )
}

struct Site(std::path::PathBuf);
impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn client() -> (Site, Client) {
    let dir = std::env::temp_dir().join(format!("hc-forms-client-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("templates/entries.html"),
        "<h1>{{ title }}</h1><form method=\"post\">{{ csrf_input }}\n{{ form.non_field_errors() }}\n\
         {% for field in form %}<p>{{ field.label_tag() }} {{ field }} {{ field.errors }}</p>\n{% endfor %}</form>",
    )
    .unwrap();
    std::fs::write(
        dir.join("settings.toml"),
        "secret_key = \"forms-client-test\"\nmiddleware = [\"csrf\"]\n[templates]\ndirs = [\"templates\"]\n",
    )
    .unwrap();
    let settings = Settings::load(&dir.join("settings.toml")).unwrap();
    let app = App::new(vec![path("", view(entries))]);
    let client = Client::from_app(app, settings).unwrap();
    (Site(dir), client)
}

#[test]
fn a_form_round_trips_through_a_view() {
    let (_site, mut client) = client();

    let page = client.get("/").text();
    assert!(page.contains("name=\"csrfmiddlewaretoken\""), "{page}");
    assert!(
        page.contains(
            "<p><label for=\"id_name\">Name:</label> <input type=\"text\" name=\"name\" \
             maxlength=\"20\" required id=\"id_name\"> </p>"
        ),
        "{page}"
    );

    let long = "x".repeat(31);
    let r = client.post("/", &[("name", "  <Ada>  "), ("message", &long)]);
    assert_eq!(r.status_code, 200);
    let page = r.text();
    // The input is kept (escaped) and the message is Django's.
    assert!(page.contains("value=\"  &lt;Ada&gt;  \""), "{page}");
    assert!(
        page.contains(
            "<ul class=\"errorlist\" id=\"id_message_error\"><li>Ensure this value has at most \
             30 characters (it has 31).</li></ul>"
        ),
        "{page}"
    );
    assert!(page.contains(&format!(">\n{long}</textarea>")), "{page}");

    let r = client.post("/", &[("name", " Ada "), ("message", "hello")]);
    assert_eq!((r.status_code, r.get("Location")), (302, Some("/?by=Ada")));
}
