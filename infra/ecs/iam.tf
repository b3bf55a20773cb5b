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

resource "aws_iam_role" "execucao" {
  name               = "${var.nome}-execucao"
  assume_role_policy = data.aws_iam_policy_document.tarefas_ecs.json
  tags               = var.etiquetas
}

resource "aws_iam_role_policy_attachment" "execucao" {
  role       = aws_iam_role.execucao.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "segredos" {
  name = "ler-segredos"
  role = aws_iam_role.execucao.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
      Resource = local.segredos_arns
    }]
  })
}

resource "aws_iam_role" "tarefa" {
  name               = "${var.nome}-tarefa"
  assume_role_policy = data.aws_iam_policy_document.tarefas_ecs.json
  tags               = var.etiquetas
}
