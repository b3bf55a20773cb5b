# The service's SQS queues (ECR_DEPLOY["ECS"]["QUEUES"]): each encrypted by SQS, each with a dead-letter queue that
# takes a message after filas_max_recebimentos receives. The task role may use exactly these queues; deploy_ecs gives
# the tasks each one's URL as SQS_QUEUE_URL_<NAME>.
resource "aws_sqs_queue" "morta" {
  for_each                  = toset(var.filas)
  name                      = "${var.nome}-${each.key}-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600 # 14 days, SQS's most: longer than the queue's, as SQS advises for a DLQ
  tags                      = var.etiquetas
}

resource "aws_sqs_queue" "fila" {
  for_each                   = toset(var.filas)
  name                       = "${var.nome}-${each.key}"
  sqs_managed_sse_enabled    = true
  visibility_timeout_seconds = var.filas_visibilidade_s
  message_retention_seconds  = 345600 # 4 days, SQS's default
  receive_wait_time_seconds  = 20     # long polling: fewer empty receives, each billed
  tags                       = var.etiquetas
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.morta[each.key].arn
    maxReceiveCount     = var.filas_max_recebimentos
  })
}

resource "aws_iam_role_policy" "filas" {
  count = length(var.filas) > 0 ? 1 : 0
  name  = "filas"
  role  = aws_iam_role.tarefa.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = [
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
      ]
      Resource = [for fila in aws_sqs_queue.fila : fila.arn]
    }]
  })
}

# A dead letter appearing judges a release as a 5xx does: deploy_ecs's bake watches each queue's dead-letter queue
# (a message there was received filas_max_recebimentos times and never done). Old dead letters leave it in ALARM
# from before the release, which the bake does not count against it.
resource "aws_cloudwatch_metric_alarm" "mortas" {
  for_each            = toset(var.filas)
  alarm_name          = "${var.nome}-${each.key}-dlq"
  alarm_description   = "A message of ${var.nome}'s ${each.key} queue reached its dead-letter queue"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.morta[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  tags                = var.etiquetas
}
