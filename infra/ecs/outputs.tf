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
  value = local.alarmes
}

# The roles a task definition names: the only ones that release_role's policy may pass to ECS.
output "papeis_arns" {
  value = [aws_iam_role.execucao.arn, aws_iam_role.tarefa.arn]
}

# The storage bucket's name and region (null without STORAGE): deploy_ecs gives them to the tasks.
output "armazenamento" {
  value = var.armazenamento ? { bucket = aws_s3_bucket.arquivos[0].id, regiao = var.regiao } : null
}
