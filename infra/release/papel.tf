# GitHub's OIDC provider (one per account), a role that only REPO's BRANCH may assume, and its policy: what
# publish_ecr and deploy_ecs call for this environment, each on its own resources where AWS allows it.
data "aws_caller_identity" "conta" {}

data "aws_partition" "atual" {}

locals {
  conta     = data.aws_caller_identity.conta.account_id
  arn_base  = "arn:${data.aws_partition.atual.partition}"
  github    = "token.actions.githubusercontent.com"
  oidc_arn  = var.provedor_oidc_arn != "" ? var.provedor_oidc_arn : aws_iam_openid_connect_provider.github[0].arn
  estado_s3 = var.estado.bucket != ""
}

resource "aws_iam_openid_connect_provider" "github" {
  count           = var.provedor_oidc_arn == "" ? 1 : 0
  url             = "https://${local.github}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
  tags            = var.etiquetas
}

data "aws_iam_policy_document" "confianca" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # GitHub's owner and repository names ignore case, and its token spells them as GitHub does.
    condition {
      test     = "StringEqualsIgnoreCase"
      variable = "${local.github}:sub"
      values   = ["repo:${var.github_repo}:ref:refs/heads/${var.branch}"]
    }
  }
}

resource "aws_iam_role" "release" {
  name                 = var.nome
  description          = "publish_ecr and deploy_ecs of ${var.servico}, from ${var.github_repo} ${var.branch} only"
  assume_role_policy   = data.aws_iam_policy_document.confianca.json
  max_session_duration = 3600
  tags                 = var.etiquetas
}

data "aws_iam_policy_document" "release" {
  # Calls that AWS does not scope to a resource (sts:GetCallerIdentity needs no permission at all).
  # ssm:DescribeParameters: deploy_ecs gives the tasks config_ecs's variables by ARN, reading their names, never a
  # value (GetParameters is the execution role's alone).
  statement {
    sid = "SemRecurso"
    actions = [
      "ecr:GetAuthorizationToken",
      "ecs:DescribeTaskDefinition",
      "ecs:ListTaskDefinitions",
      "ecs:RegisterTaskDefinition",
      "ecs:DeregisterTaskDefinition",
      "ssm:DescribeParameters",
    ]
    resources = ["*"]
  }

  statement {
    sid = "Repositorio"
    # AWS's push policy (ECR user guide, "Pushing an image"): a push reads the tag's manifest first (BatchGetImage).
    actions = concat([
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:InitiateLayerUpload",
      "ecr:ListTagsForResource",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ], var.ciclo_de_vida ? ["ecr:GetLifecyclePolicy"] : [])
    resources = [var.repositorio_arn]
  }

  statement {
    sid     = "Servico"
    actions = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [
      for servico in concat([var.servico], var.processos) :
      "${local.arn_base}:ecs:${var.regiao}:${local.conta}:service/${var.cluster}/${servico}"
    ]
  }

  statement {
    sid       = "TarefasAvulsas"
    actions   = ["ecs:RunTask"]
    resources = ["${local.arn_base}:ecs:${var.regiao}:${local.conta}:task-definition/${var.familia}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = ["${local.arn_base}:ecs:${var.regiao}:${local.conta}:cluster/${var.cluster}"]
    }
  }

  statement {
    sid       = "TarefasLidas"
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.arn_base}:ecs:${var.regiao}:${local.conta}:task/${var.cluster}/*"]
  }

  statement {
    sid       = "PapeisDoServico"
    actions   = ["iam:PassRole"]
    resources = var.papeis_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # deploy_ecs checks that the execution role (the first of the service's roles) may read the new revision's secrets.
  statement {
    sid       = "SegredosDoPapel"
    actions   = ["iam:SimulatePrincipalPolicy"]
    resources = [var.papeis_arns[0]]
  }

  # The end of a failed migrate task's log, which deploy_ecs prints.
  statement {
    sid       = "Logs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${local.arn_base}:logs:${var.regiao}:${local.conta}:log-group:${var.grupo_logs}:*"]
  }

  # deploy_ecs points the service's scheduled jobs at the revision it deployed: UpdateSchedule passes the
  # scheduler's role again (Scheduler's guide: iam:PassRole on the schedule's execution role).
  dynamic "statement" {
    for_each = length(var.agendamentos) > 0 ? [1] : []
    content {
      sid       = "Agendamentos"
      actions   = ["scheduler:GetSchedule", "scheduler:UpdateSchedule"]
      resources = var.agendamentos
    }
  }

  dynamic "statement" {
    for_each = var.papel_agendador_arn != "" ? [1] : []
    content {
      sid       = "PapelDoAgendador"
      actions   = ["iam:PassRole"]
      resources = [var.papel_agendador_arn]
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["scheduler.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.alarmes) > 0 ? [1] : []
    content {
      sid       = "Alarmes"
      actions   = ["cloudwatch:DescribeAlarms"]
      resources = [for nome in var.alarmes : "${local.arn_base}:cloudwatch:${var.regiao}:${local.conta}:alarm:${nome}"]
    }
  }

  # HeadBucket (is the state bucket there?) needs ListBucket without a prefix: it lists key names, never objects.
  dynamic "statement" {
    for_each = local.estado_s3 ? [1] : []
    content {
      sid       = "EstadoListar"
      actions   = ["s3:ListBucket"]
      resources = ["${local.arn_base}:s3:::${var.estado.bucket}"]
    }
  }

  dynamic "statement" {
    for_each = local.estado_s3 ? [1] : []
    content {
      sid       = "Estado"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.arn_base}:s3:::${var.estado.bucket}/${var.estado.prefixo}*"]
    }
  }

  dynamic "statement" {
    for_each = local.estado_s3 && var.estado.tabela != "" ? [1] : []
    content {
      sid       = "Trava"
      actions   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
      resources = ["${local.arn_base}:dynamodb:${coalesce(var.estado.regiao, var.regiao)}:${local.conta}:table/${var.estado.tabela}"]
    }
  }
}

resource "aws_iam_role_policy" "release" {
  name   = "publish-e-deploy"
  role   = aws_iam_role.release.id
  policy = data.aws_iam_policy_document.release.json
}
