"""Whatever arrives at the protocol endpoints, the answer is a 4xx page, never a 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = ["iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
          "lti_deployment_id", "id_token", "state", "lti_new_window"]
junk = st.dictionaries(st.sampled_from(FIELDS),
                       st.one_of(st.text(max_size=80), st.just("http://localhost/lti/launch"),
                                 st.just("http://127.0.0.1:8080"), st.just("a.b.c")),
                       max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=junk)
def test_random_forms_never_cause_a_server_error(client, moodle, form):
    for path in ("/lti/login", "/lti/launch"):
        response = client.post(path, data=form)
        assert 300 <= response.status_code < 500, (path, form, response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)
