# HTTPS for the service's domains (ECR_DEPLOY["ECS"]["DOMAINS"]): with a hosted zone (HOSTED_ZONE) an ACM
# certificate validated by DNS records in it, and an ALIAS record from each domain to the load balancer; or a
# certificate made elsewhere (CERTIFICATE_ARN).
data "aws_route53_zone" "app" {
  count   = var.zona_dns != "" ? 1 : 0
  zone_id = local.zona_por_id ? var.zona_dns : null
  name    = local.zona_por_id ? null : var.zona_dns
}

resource "aws_acm_certificate" "app" {
  count                     = local.https && var.certificado_arn == "" ? 1 : 0
  domain_name               = var.dominios[0]
  subject_alternative_names = slice(var.dominios, 1, length(var.dominios))
  validation_method         = "DNS"
  tags                      = var.etiquetas

  # A new certificate (another domain) is issued and in use before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validacao" {
  for_each = local.https && var.certificado_arn == "" ? {
    for option in aws_acm_certificate.app[0].domain_validation_options : option.domain_name => option
  } : {}
  zone_id         = data.aws_route53_zone.app[0].zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "app" {
  count                   = local.https && var.certificado_arn == "" ? 1 : 0
  certificate_arn         = aws_acm_certificate.app[0].arn
  validation_record_fqdns = [for record in aws_route53_record.validacao : record.fqdn]
}

resource "aws_route53_record" "dominio" {
  for_each = var.zona_dns != "" ? toset(var.dominios) : toset([])
  zone_id  = data.aws_route53_zone.app[0].zone_id
  name     = each.value
  type     = "A"

  alias {
    name                   = aws_lb.app.dns_name
    zone_id                = aws_lb.app.zone_id
    evaluate_target_health = true
  }
}
