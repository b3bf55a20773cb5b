# The scheduled jobs (ECR_DEPLOY["ECS"]["SCHEDULES"]): EventBridge Scheduler schedules in a group of the service's,
# each running a one-off task of the web's family with the job's command. Terraform makes them pointing at its first
# revision; deploy_ecs points each at the revision it deployed, and a rollback back (hence ignore_changes).
resource "aws_scheduler_schedule_group" "agendamentos" {
  count = length(var.agendamentos) > 0 ? 1 : 0
  name  = var.nome
  tags  = var.etiquetas
}

data "aws_iam_policy_document" "agendador_confia" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    # Only this account's schedules may use the role (Scheduler's guide: "Set up the execution role").
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.conta.account_id]
    }
  }
}

resource "aws_iam_role" "agendador" {
  count              = length(var.agendamentos) > 0 ? 1 : 0
  name               = "${local.nome_global}-agendador"
  assume_role_policy = data.aws_iam_policy_document.agendador_confia.json
  tags               = var.etiquetas
}

# Run the family's tasks in this cluster, and pass its two roles to ECS: nothing else.
resource "aws_iam_role_policy" "agendador" {
  count = length(var.agendamentos) > 0 ? 1 : 0
  name  = "rodar-tarefas"
  role  = aws_iam_role.agendador[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["ecs:RunTask"]
        Resource  = ["arn:${data.aws_partition.atual.partition}:ecs:${var.regiao}:${data.aws_caller_identity.conta.account_id}:task-definition/${var.nome}:*"]
        Condition = { ArnEquals = { "ecs:cluster" = aws_ecs_cluster.app.arn } }
      },
      {
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [aws_iam_role.execucao.arn, aws_iam_role.tarefa.arn]
        Condition = { StringLike = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
    ]
  })
}

resource "aws_scheduler_schedule" "agendamento" {
  #checkov:skip=CKV_AWS_297:A schedule holds the job's command and no secret (the task reads its secrets by ARN); Scheduler encrypts it with an AWS owned key, and a customer key costs USD 1 a month and a key policy.
  for_each                     = var.agendamentos
  name                         = each.key
  group_name                   = aws_scheduler_schedule_group.agendamentos[0].name
  schedule_expression          = each.value.expressao
  schedule_expression_timezone = each.value.fuso

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_ecs_cluster.app.arn
    role_arn = aws_iam_role.agendador[0].arn
    # RunTask's overrides: the job's command in the web's container.
    input = jsonencode({ containerOverrides = [{ name = var.container, command = each.value.comando }] })

    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.app.arn
      launch_type         = "FARGATE"
      task_count          = 1
      # status_ecs and logs_ecs --schedule find the job's tasks by their group.
      group = "agendamento:${each.key}"

      network_configuration {
        subnets          = local.sub_redes
        security_groups  = [aws_security_group.servico.id]
        assign_public_ip = var.ip_publico
      }
    }

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }

  lifecycle {
    ignore_changes = [target[0].ecs_parameters[0].task_definition_arn]
  }

  depends_on = [aws_iam_role_policy.agendador]
}
