from django.core.mail import send_mail


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
