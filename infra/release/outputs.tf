output "papel_arn" {
  value = aws_iam_role.release.arn
}

# Whether this folder made GitHub's OIDC provider (then release_role keeps it here on every later run).
output "provedor_oidc_proprio" {
  value = var.provedor_oidc_arn == ""
}

output "provedor_oidc_arn" {
  value = local.oidc_arn
}

output "politica" {
  value = data.aws_iam_policy_document.release.json
}
