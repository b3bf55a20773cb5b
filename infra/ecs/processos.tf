# The service's other processes (ECR_DEPLOY["ECS"]["PROCESSES"]): each an ECS service of its own, from the web's
# image, in its cluster and network, with its roles, variables and secrets, and its log group under a stream prefix of
# its own; no load balancer, the circuit breaker, and scaling between its min and max on its CPU, or on its
# queue's visible messages per task. deploy_ecs rolls
# them with the web in one release; as for the web, Terraform owns the shape and deploy_ecs the image.
resource "aws_ecs_task_definition" "processo" {
  for_each                 = var.processos
  family                   = "${var.nome}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memoria
  execution_role_arn       = aws_iam_role.execucao.arn
  task_role_arn            = aws_iam_role.tarefa.arn
  tags                     = var.etiquetas

  container_definitions = jsonencode([{
    name        = var.container
    image       = var.imagem
    essential   = true
    memory      = each.value.memoria # the container's limit, the task's memory, as the web's
    command     = each.value.comando
    environment = local.ambiente
    secrets     = local.segredos
    healthCheck = length(each.value.verificacao) == 0 ? null : {
      command     = each.value.verificacao
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.regiao
        awslogs-stream-prefix = each.key
      }
    }
  }])

  lifecycle {
    ignore_changes       = [container_definitions]
    replace_triggered_by = [terraform_data.forma_do_processo[each.key]]
  }
}

resource "terraform_data" "forma_do_processo" {
  for_each = var.processos
  input = {
    processo   = each.value
    container  = var.container
    grupo_logs = aws_cloudwatch_log_group.app.name
    regiao     = var.regiao
    ambiente   = local.ambiente
    segredos   = local.segredos
  }
}

resource "aws_ecs_service" "processo" {
  #checkov:skip=CKV_AWS_333:As the web's: a default VPC has no NAT, so tasks reach ECR and AWS's APIs through a public IP (ip_publico); no inbound rule lets anything reach them.
  for_each                           = var.processos
  name                               = "${var.nome}-${each.key}"
  cluster                            = aws_ecs_cluster.app.id
  task_definition                    = aws_ecs_task_definition.processo[each.key].arn
  desired_count                      = each.value.min
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  tags                               = var.etiquetas

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = local.sub_redes
    security_groups  = [aws_security_group.servico.id]
    assign_public_ip = var.ip_publico
  }

  depends_on = [aws_iam_role_policy_attachment.execucao, aws_iam_role_policy.segredos]

  lifecycle {
    ignore_changes = [task_definition, desired_count, availability_zone_rebalancing]
  }
}

resource "aws_appautoscaling_target" "processo" {
  for_each           = var.processos
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.app.name}/${aws_ecs_service.processo[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min
  max_capacity       = each.value.max
}

resource "aws_appautoscaling_policy" "processo_cpu" {
  for_each           = { for nome, processo in var.processos : nome => processo if processo.fila == "" }
  name               = "${var.nome}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.processo[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.processo[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.processo[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_alvo

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Target tracking on the queue's backlog per task, as Application Auto Scaling's guide shows it with metric math
# ("Example: Amazon SQS queue backlog per task"): visible messages over the service's running tasks, which
# Container Insights counts (the cluster turns it on when a process scales so).
resource "aws_appautoscaling_policy" "processo_fila" {
  for_each           = { for nome, processo in var.processos : nome => processo if processo.fila != "" }
  name               = "${var.nome}-${each.key}-fila"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.processo[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.processo[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.processo[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = each.value.mensagens_por_tarefa

    customized_metric_specification {
      metrics {
        id          = "mensagens"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.fila[each.value.fila].name
            }
          }
        }
      }
      metrics {
        id          = "tarefas"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.app.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.processo[each.key].name
            }
          }
        }
      }
      metrics {
        id          = "por_tarefa"
        label       = "Visible messages per running task"
        expression  = "mensagens / tarefas"
        return_data = true
      }
    }
  }
}
