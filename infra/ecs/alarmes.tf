# The alarms that judge a release: ECS rolls a deployment back when one fires during it (the service's alarms
# block), and deploy_ecs watches them for a bake time after the rollout completes. Each threshold is a variable.
locals {
  dimensoes_alvo = {
    LoadBalancer = aws_lb.app.arn_suffix
    TargetGroup  = aws_lb_target_group.app.arn_suffix
  }
  alarmes = concat(
    [aws_cloudwatch_metric_alarm.erros_5xx.alarm_name, aws_cloudwatch_metric_alarm.alvos_doentes.alarm_name],
    aws_cloudwatch_metric_alarm.latencia_p99[*].alarm_name,
  )
}

# The targets' 5xx answers as a percentage of the requests, per minute: a release that passes /health/ but fails
# real requests. No request in a minute counts as 0 %.
resource "aws_cloudwatch_metric_alarm" "erros_5xx" {
  alarm_name          = "${var.nome}-5xx"
  alarm_description   = "More than ${var.alarme_5xx_pct}% of ${var.nome}'s requests answered 5xx by its tasks"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarme_5xx_pct
  evaluation_periods  = var.alarme_periodos
  datapoints_to_alarm = var.alarme_pontos
  treat_missing_data  = "notBreaching"
  tags                = var.etiquetas

  metric_query {
    id          = "taxa"
    expression  = "IF(pedidos > 0, 100 * FILL(erros, 0) / pedidos, 0)"
    label       = "5xx %"
    return_data = true
  }

  metric_query {
    id = "erros"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.dimensoes_alvo
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "pedidos"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.dimensoes_alvo
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alvos_doentes" {
  alarm_name          = "${var.nome}-alvos-doentes"
  alarm_description   = "A target of ${var.nome} failing the load balancer's health check"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.dimensoes_alvo
  statistic           = "Maximum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = var.alarme_periodos
  datapoints_to_alarm = var.alarme_pontos
  treat_missing_data  = "notBreaching"
  tags                = var.etiquetas
}

# Optional: the 99th percentile of the targets' response time above a ceiling (alarme_latencia_p99_s > 0).
resource "aws_cloudwatch_metric_alarm" "latencia_p99" {
  count               = var.alarme_latencia_p99_s > 0 ? 1 : 0
  alarm_name          = "${var.nome}-latencia-p99"
  alarm_description   = "${var.nome}'s p99 response time above ${var.alarme_latencia_p99_s} s"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.dimensoes_alvo
  extended_statistic  = "p99"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarme_latencia_p99_s
  evaluation_periods  = var.alarme_periodos
  datapoints_to_alarm = var.alarme_pontos
  treat_missing_data  = "notBreaching"
  tags                = var.etiquetas
}
