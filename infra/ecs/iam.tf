# The execution role pulls the image, writes logs and reads the secrets; the task role is the app's own (empty).
data "aws_iam_policy_document" "tarefas_ecs" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

locals {
  nome_global = var.sufixo_global == "" ? var.nome : "${var.nome}-${var.sufixo_global}"
}

resource "aws_iam_role" "execucao" {
  name               = "${local.nome_global}-execucao"
  assume_role_policy = data.aws_iam_policy_document.tarefas_ecs.json
  tags               = var.etiquetas
}

data "aws_partition" "atual" {}

resource "aws_iam_role_policy_attachment" "execucao" {
  role       = aws_iam_role.execucao.name
  policy_arn = "arn:${data.aws_partition.atual.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "segredos" {
  name = "ler-segredos"
  role = aws_iam_role.execucao.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
        Resource = local.segredos_arns
      }],
      length(var.segredos_kms_chaves) == 0 ? [] : [{
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.segredos_kms_chaves
      }],
    )
  })
}

resource "aws_iam_role" "tarefa" {
  name               = "${local.nome_global}-tarefa"
  assume_role_policy = data.aws_iam_policy_document.tarefas_ecs.json
  tags               = var.etiquetas
}
