# The cluster, the task definition and the Fargate service. One owner per field of a revision: Terraform owns its
# shape (cpu, memory, port, roles, logs, health check) in the revision it registers here, and deploy_ecs registers
# each release from that one with its own image, environment and secrets. The service's revision is deploy_ecs's:
# an apply never rolls a deployment back, and a new shape reaches the service at the next deploy.
resource "aws_secretsmanager_secret" "secret_key" {
  #checkov:skip=CKV_AWS_149:Encrypted with the account's aws/secretsmanager key; a customer key would cost USD 1 a month and need grants for the execution role.
  #checkov:skip=CKV2_AWS_57:A new SECRET_KEY signs every session out; rotate it by putting a new value and deploying.
  name                    = "${var.nome}/DJANGO_SECRET_KEY"
  description             = "Django's SECRET_KEY for ${var.nome}; a random value put once, never in the state."
  recovery_window_in_days = 0
  tags                    = var.etiquetas
}

# Its value, made by an ephemeral resource and written once through a write-only argument (never in this state),
# before the service's first tasks read it. A value put before (by an older provision_ecs, or kept by destroy_ecs) is
# imported by provision_ecs and kept: a new one would sign every session out.
ephemeral "aws_secretsmanager_random_password" "secret_key" {
  password_length     = 50
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id                = aws_secretsmanager_secret.secret_key.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.secret_key.random_password
  secret_string_wo_version = 1

  lifecycle {
    ignore_changes = [secret_string_wo_version]
  }
}

# The database reaches the task as its settings read it (banco_variaveis): as plain host, port and name with the user
# and password read by ARN (the JSON keys of its secret) when the task starts, named DATABASE_* or POSTGRES_*; or as
# one DATABASE_URL secret, whose value provision_ecs puts right after the apply. DATABASE_URL, your own database's
# secret, wins inside the course's image.
locals {
  banco = var.banco_rds ? {
    host       = aws_db_instance.banco[0].address
    port       = aws_db_instance.banco[0].port
    name       = aws_db_instance.banco[0].db_name
    secret_arn = aws_secretsmanager_secret.banco[0].arn
    url_arn    = var.banco_variaveis == "url" ? aws_secretsmanager_secret.banco_url[0].arn : ""
  } : null
  banco_prefixo = var.banco_variaveis == "postgres" ? "POSTGRES" : "DATABASE"
  banco_partes  = var.banco_rds && var.banco_variaveis != "url"
  segredos = concat(
    [{ name = "DJANGO_SECRET_KEY", valueFrom = aws_secretsmanager_secret.secret_key.arn }],
    var.database_url_secret_arn == "" ? [] : [{ name = "DATABASE_URL", valueFrom = var.database_url_secret_arn }],
    local.banco_partes ? [
      { name = "${local.banco_prefixo}_USER", valueFrom = "${local.banco.secret_arn}:username::" },
      { name = "${local.banco_prefixo}_PASSWORD", valueFrom = "${local.banco.secret_arn}:password::" },
    ] : [],
    var.banco_rds && var.banco_variaveis == "url" ? [{ name = "DATABASE_URL", valueFrom = local.banco.url_arn }] : [],
  )
  # What the execution role may read: the service's own secrets, and those of SECRETS and DATABASE, each as IAM
  # authorizes it (provision_ecs passes them without a JSON key, a partial ARN also with its six characters).
  segredos_arns = distinct(concat(
    [aws_secretsmanager_secret.secret_key.arn],
    var.banco_rds ? [local.banco.secret_arn] : [],
    var.banco_rds && var.banco_variaveis == "url" ? [local.banco.url_arn] : [],
    var.segredos_arns,
    # config_ecs's parameters: that path and nothing else of Parameter Store.
    var.configuracao_caminho == "" ? [] : [
      "arn:${data.aws_partition.atual.partition}:ssm:${var.regiao}:${data.aws_caller_identity.conta.account_id}:parameter${var.configuracao_caminho}*"
    ],
  ))
  ambiente = concat(
    [{ name = "DJANGO_ALLOWED_HOSTS", value = aws_lb.app.dns_name }],
    local.banco_partes ? [
      { name = "${local.banco_prefixo}_HOST", value = local.banco.host },
      { name = var.banco_variaveis == "postgres" ? "POSTGRES_DB" : "DATABASE_NAME", value = local.banco.name },
      { name = "${local.banco_prefixo}_PORT", value = tostring(local.banco.port) },
    ] : [],
  )
}

resource "aws_ecs_cluster" "app" {
  #checkov:skip=CKV_AWS_65:Container Insights is an option (container_insights): its metrics are billed per task and per metric.
  name = var.nome
  tags = var.etiquetas

  setting {
    name = "containerInsights"
    # On too when a process scales on its queue: its policy divides by the tasks that Container Insights counts.
    value = var.container_insights || anytrue([for processo in values(var.processos) : processo.fila != ""]) ? "enabled" : "disabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  #checkov:skip=CKV_AWS_338:The tasks' logs are kept logs_retencao_dias (30 by default): a year of every request's line costs more than most services earn from it.
  #checkov:skip=CKV_AWS_158:KMS is an option (logs_kms_chave): a customer key costs USD 1 a month and its key policy must let CloudWatch Logs use it.
  name              = "/ecs/${var.nome}"
  retention_in_days = var.logs_retencao_dias
  kms_key_id        = var.logs_kms_chave == "" ? null : var.logs_kms_chave
  tags              = var.etiquetas
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.nome
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memoria
  execution_role_arn       = aws_iam_role.execucao.arn
  task_role_arn            = aws_iam_role.tarefa.arn
  tags                     = var.etiquetas

  container_definitions = jsonencode([{
    name         = var.container
    image        = var.imagem
    essential    = true
    memory       = var.memoria
    portMappings = [{ containerPort = var.porta, protocol = "tcp" }]
    environment  = local.ambiente
    secrets      = local.segredos
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.porta}/health/', timeout=4)"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.regiao
        awslogs-stream-prefix = "app"
      }
    }
  }])

  # A new shape registers a new revision; a new image alone does not (deploy_ecs owns the image).
  lifecycle {
    ignore_changes       = [container_definitions]
    replace_triggered_by = [terraform_data.forma_da_revisao]
  }
}

# What the revision's containers hold besides the image: a change here registers the revision again.
resource "terraform_data" "forma_da_revisao" {
  input = {
    container  = var.container
    porta      = var.porta
    memoria    = var.memoria
    grupo_logs = aws_cloudwatch_log_group.app.name
    regiao     = var.regiao
    ambiente   = local.ambiente
    segredos   = local.segredos
  }
}

resource "aws_ecs_service" "app" {
  #checkov:skip=CKV_AWS_333:A default VPC has no NAT: tasks reach ECR and Secrets Manager through a public IP (ip_publico; false in private subnets with a NAT or VPC endpoints). Only the load balancer's security group reaches them.
  name                               = var.nome
  cluster                            = aws_ecs_cluster.app.id
  task_definition                    = aws_ecs_task_definition.app.arn
  desired_count                      = var.tarefas_desejadas
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = var.saudavel_min_pct
  deployment_maximum_percent         = var.saudavel_max_pct
  tags                               = var.etiquetas

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # ECS itself rolls a deployment back when one of these fires during it (alarmes.tf).
  alarms {
    alarm_names = local.alarmes
    enable      = true
    rollback    = true
  }

  network_configuration {
    subnets          = local.sub_redes
    security_groups  = [aws_security_group.servico.id]
    assign_public_ip = var.ip_publico
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = var.container
    container_port   = var.porta
  }

  # Its first tasks read the secrets as the execution role: the role's policies and the secret key's value first.
  depends_on = [
    aws_lb_listener.http, aws_lb_listener.https, aws_iam_role_policy_attachment.execucao, aws_iam_role_policy.segredos,
    aws_secretsmanager_secret_version.secret_key,
  ]

  lifecycle {
    ignore_changes = [task_definition, desired_count, availability_zone_rebalancing]
  }
}

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.app.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.tarefas_min
  max_capacity       = var.tarefas_max
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.nome}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_alvo

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
