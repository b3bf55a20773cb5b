# The Application Load Balancer: targets are task IPs, checked on /health/ (answered before host validation). With
# domains and a hosted zone (or a certificate made elsewhere) it serves HTTPS on 443 and port 80 only redirects.
locals {
  https = length(var.dominios) > 0 && (var.zona_dns != "" || var.certificado_arn != "")
  # A zone's name has dots (example.com); its id has none.
  zona_por_id = !strcontains(var.zona_dns, ".")
}

resource "aws_lb" "app" {
  #checkov:skip=CKV2_AWS_28:WAF is not made here: a web ACL costs at least USD 5 a month plus USD 1 per rule; attach your own.
  name                       = var.nome
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = local.sub_redes
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_protecao_exclusao
  tags                       = var.etiquetas

  access_logs {
    bucket  = var.alb_logs_acesso ? aws_s3_bucket.logs_alb[0].id : ""
    enabled = var.alb_logs_acesso
  }

  # The load balancer checks that it may write to the bucket when access logs are switched on.
  depends_on = [aws_s3_bucket_policy.logs_alb]
}

resource "aws_lb_target_group" "app" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; inside the VPC it reaches the tasks' gunicorn over HTTP, only from its own security group.
  name        = var.nome
  port        = var.porta
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas
  # gunicorn finishes its requests within its 8 s graceful timeout: a task leaves in desregistro_s, not 300 s.
  deregistration_delay = var.desregistro_s

  # A task that answers is healthy within 2 checks of 10 s.
  health_check {
    path                = "/health/"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Port 80 only redirects to HTTPS once a domain is set; without one the load balancer's own name has no certificate.
  #checkov:skip=CKV_AWS_103:A plain-HTTP listener has no TLS policy; the HTTPS listener uses ELBSecurityPolicy-TLS13-1-2-2021-06.
  #checkov:skip=CKV_AWS_378:As CKV_AWS_2: HTTP is a redirect with a domain, and the only protocol without one.
  #checkov:skip=CKV2_AWS_20:The redirect is made when a domain is set (local.https); without one there is no HTTPS to redirect to.
  load_balancer_arn = aws_lb.app.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.etiquetas

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.app.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        protocol    = "HTTPS"
        port        = "443"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count             = local.https ? 1 : 0
  load_balancer_arn = aws_lb.app.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.politica_tls
  certificate_arn   = var.certificado_arn != "" ? var.certificado_arn : aws_acm_certificate_validation.app[0].certificate_arn
  tags              = var.etiquetas

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

# The access logs' bucket: SSE-S3 (the only encryption load balancers write to), private, logs expired.
data "aws_caller_identity" "conta" {}

# Who writes the logs (ELB guide, "Enable access logs"): in a region opened before August 2022, the ELB account of the
# region; in a later one (which has no such account), the log delivery service.
locals {
  regioes_com_conta_elb = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-southeast-3", "ap-south-1",
    "ap-northeast-3", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-west-3", "eu-north-1", "me-south-1", "sa-east-1",
    "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
  ]
  conta_elb = contains(local.regioes_com_conta_elb, var.regiao)
  escritor_logs_alb = {
    (local.conta_elb ? "AWS" : "Service") = local.conta_elb ? one(data.aws_elb_service_account.regiao[*].arn) : "logdelivery.elasticloadbalancing.amazonaws.com"
  }
}

data "aws_elb_service_account" "regiao" {
  count = local.conta_elb ? 1 : 0
}

resource "aws_s3_bucket" "logs_alb" {
  #checkov:skip=CKV_AWS_18:This bucket holds access logs; logging its own access would need yet another bucket.
  #checkov:skip=CKV_AWS_21:Log files are written once and expire after alb_logs_dias; versions would only keep them longer.
  #checkov:skip=CKV_AWS_144:Cross-region replication of access logs doubles their cost; they are not the service's data.
  #checkov:skip=CKV_AWS_145:Load balancers write access logs only to buckets encrypted with SSE-S3, not KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of new log files.
  count         = var.alb_logs_acesso ? 1 : 0
  bucket        = "${local.nome_global}-alb-logs-${data.aws_caller_identity.conta.account_id}"
  force_destroy = true # destroy_ecs takes the access logs with the load balancer (its plan lists the bucket)
  tags          = var.etiquetas
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs_alb" {
  count  = var.alb_logs_acesso ? 1 : 0
  bucket = aws_s3_bucket.logs_alb[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs_alb" {
  count                   = var.alb_logs_acesso ? 1 : 0
  bucket                  = aws_s3_bucket.logs_alb[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "logs_alb" {
  count  = var.alb_logs_acesso ? 1 : 0
  bucket = aws_s3_bucket.logs_alb[0].id

  rule {
    id     = "expirar"
    status = "Enabled"

    filter {}

    expiration {
      days = var.alb_logs_dias
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "logs_alb" {
  count  = var.alb_logs_acesso ? 1 : 0
  bucket = aws_s3_bucket.logs_alb[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "LoadBalancerWrites"
        Effect    = "Allow"
        Principal = local.escritor_logs_alb
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs_alb[0].arn}/AWSLogs/${data.aws_caller_identity.conta.account_id}/*"
      },
      {
        Sid       = "HttpsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs_alb[0].arn, "${aws_s3_bucket.logs_alb[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.logs_alb]
}
