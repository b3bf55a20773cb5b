# What deploy_ecs reads back: where the service runs, and how to start a one-off task beside it.
output "cluster" {
  value = aws_ecs_cluster.app.name
}

output "servico" {
  value = aws_ecs_service.app.name
}

# The revision Terraform made last: the shape of every release (deploy_ecs sets only its image, environment and
# secrets), and one that no deploy_ecs has run migrate for, so that a deploy of its image is never skipped.
output "primeira_revisao" {
  value = aws_ecs_task_definition.app.arn
}

output "familia" {
  value = aws_ecs_task_definition.app.family
}

output "container" {
  value = var.container
}

output "porta" {
  value = var.porta
}

output "alb_dns" {
  value = aws_lb.app.dns_name
}

# Whether the load balancer serves HTTPS for the domains (deploy_ecs then turns on Django's HTTPS-only settings).
output "https" {
  value = local.https
}

output "dominios" {
  value = var.dominios
}

output "url" {
  value = local.https ? "https://${var.dominios[0]}/" : "http://${aws_lb.app.dns_name}/"
}

output "sub_redes" {
  value = local.sub_redes
}

output "grupo_seguranca" {
  value = aws_security_group.servico.id
}

output "ip_publico" {
  value = var.ip_publico
}

output "grupo_logs" {
  value = aws_cloudwatch_log_group.app.name
}

output "secret_key_arn" {
  value = aws_secretsmanager_secret.secret_key.arn
}

output "usa_banco_externo" {
  value = var.database_url_secret_arn != ""
}

# The RDS database's host, port, name and the ARN of its master user's secret (null without one); no password.
output "banco" {
  value = local.banco
}

# The alarms that judge a release: deploy_ecs watches them for its bake time.
output "alarmes" {
  value = concat(local.alarmes, [for alarme in aws_cloudwatch_metric_alarm.mortas : alarme.alarm_name])
}

# The roles a task definition names: the only ones that release_role's policy may pass to ECS.
output "papeis_arns" {
  value = [aws_iam_role.execucao.arn, aws_iam_role.tarefa.arn]
}

# The storage bucket's name and region (null without STORAGE): deploy_ecs gives them to the tasks.
output "armazenamento" {
  value = var.armazenamento ? { bucket = aws_s3_bucket.arquivos[0].id, regiao = var.regiao } : null
}

# Each process's service, its task definition's family and the revision Terraform registered.
output "processos" {
  value = {
    for nome, servico in aws_ecs_service.processo : nome => {
      servico          = servico.name
      familia          = aws_ecs_task_definition.processo[nome].family
      primeira_revisao = aws_ecs_task_definition.processo[nome].arn
    }
  }
}

# Each queue's URL and ARN, and its dead-letter queue's.
output "filas" {
  value = {
    for nome, fila in aws_sqs_queue.fila : nome => {
      url       = fila.url
      arn       = fila.arn
      morta_url = aws_sqs_queue.morta[nome].url
    }
  }
}

# Each scheduled job's schedule, in the service's group, and its expression and time zone.
output "agendamentos" {
  value = {
    for nome, agendamento in aws_scheduler_schedule.agendamento : nome => {
      nome      = agendamento.name
      grupo     = agendamento.group_name
      arn       = agendamento.arn
      expressao = agendamento.schedule_expression
      fuso      = agendamento.schedule_expression_timezone
    }
  }
}

# The role the schedules run their tasks with ("" with no schedule): the release role passes it again.
output "papel_agendador_arn" {
  value = length(aws_iam_role.agendador) > 0 ? aws_iam_role.agendador[0].arn : ""
}
