from django.core.mail import send_mail


def test_it_delivers_mail_over_smtp_to_the_sink(smtp_server):
    send_mail("Hello", "Body text", "larr1@example.com", ["alice@example.com"])

    (captured,) = smtp_server.messages()
    assert captured.subject == "Hello"
    assert "alice@example.com" in captured.recipients
    assert captured.body().strip() == "Body text"
