"""The secrets that must never leave their place, and the check that they did not."""

import base64

TOKEN_PASSWORD = "123456789012-auth-token"  # the password inside moto's ECR authorization token
AWS_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY-do-not-print"  # a distinctive AWS secret key (moto accepts any)
SECRETS = (TOKEN_PASSWORD, base64.b64encode(f"AWS:{TOKEN_PASSWORD}".encode()).decode(), AWS_SECRET)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a secret leaked into the output"
