"""A failed submission's page and JSON name the sandbox limit that stopped it, from the stored code."""

from __future__ import annotations

from sqlalchemy import select

from heldout.models import Challenge, SandboxLimit, SubmissionStatus, User
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.platform.test_organizer import olgas_challenge, organizer  # noqa: F401 - fixtures


def test_the_submission_page_and_json_name_each_limit_and_no_limit_when_none_stopped_it(app, client, auth):
    auth.register()
    with app.extensions["heldout"].sessions() as s:
        ada = s.scalar(select(User).where(User.username == "ada"))
        team = make_team(s, make_challenge(s), ada)
        # The message names no limit: what the page says comes from the stored code alone.
        stopped = {limit: make_submission(s, team, ada, status=SubmissionStatus.FAILED, limit_hit=limit,
                                          error="Your code was stopped in the hidden run.").id
                   for limit in SandboxLimit}
        crashed = make_submission(s, team, ada, status=SubmissionStatus.FAILED,
                                  error="Your code exited with an error: time limit of 3 s exceeded").id
        s.commit()
    labels = {}
    for limit, sid in stopped.items():
        page = client.get(f"/submissions/{sid}").get_data(as_text=True)
        labels[limit.value] = page.split('<dd id="limit-hit">')[1].split("</dd>")[0]
        assert "<dt>Limit reached</dt>" in page
        assert client.get(f"/submissions/{sid}/status").get_json()["limit_hit"] == limit.value
    assert labels == {"time": "time", "memory": "memory", "pids": "processes and threads", "file_size": "file size",
                      "disk": "writable space", "output": "printed output"}
    assert 'id="limit-hit"' not in client.get(f"/submissions/{crashed}").get_data(as_text=True)
    assert client.get(f"/submissions/{crashed}/status").get_json()["limit_hit"] is None


def test_the_organizers_list_of_failed_submissions_names_the_limit(organizer, app, olgas_challenge):  # noqa: F811
    with app.extensions["heldout"].sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == olgas_challenge))
        ada = make_user(s, "ada")
        team = make_team(s, challenge, ada)
        make_submission(s, team, ada, status=SubmissionStatus.FAILED, limit_hit=SandboxLimit.PIDS,
                        error="Your code was stopped in the hidden run.")
        make_submission(s, team, ada, status=SubmissionStatus.FAILED, error="Column 'y' is missing")
        s.commit()
    page = organizer.get(f"/organizer/c/{olgas_challenge}").get_data(as_text=True)
    assert page.count('class="limit-hit"') == 1
    assert '<small class="limit-hit">Limit reached: processes and threads</small>' in page
