from django.core.mail import EmailMessage, send_mail


def test_it_delivers_mail_over_smtp_to_the_sink(smtp_server):
    send_mail("Hello", "Body text", "larr1@example.com", ["alice@example.com"])

    (captured,) = smtp_server.messages()
    assert captured.subject == "Hello"
    assert "alice@example.com" in captured.recipients
    assert captured.body().strip() == "Body text"


def test_it_reads_a_long_folded_subject(smtp_server):
    subject = "New password for your GPU workspace example-user / 您的 GPU 工作區 example-user 的新密碼"
    send_mail(subject, "Body text", "larr1@example.com", ["alice@example.com"])

    (captured,) = smtp_server.messages()
    assert captured.subject == subject


def test_it_keeps_arrival_order_within_a_second(smtp_server):
    # The Date header counts whole seconds, so five messages sharing one must keep the order they arrived in.
    same_second = "Fri, 04 Dec 2026 12:00:00 -0000"
    for number in range(5):
        EmailMessage(
            f"Message {number}", "Body", "larr1@example.com", ["alice@example.com"], headers={"Date": same_second}
        ).send()

    assert [captured.subject for captured in smtp_server.messages()] == [f"Message {n}" for n in reversed(range(5))]
